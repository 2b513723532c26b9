"""How target values become training labels and back: `TargetEncoding`, fitted on train.

Classes become codes, regression targets are standardized with the training split's mean
and standard deviation (a unit-scale output trains well with default learning rates; errors
are reported back in the target's own units), multi-task targets get one encoding per head.
Shared by every way of preparing data (tables, pictures, streamed Parquet) and of predicting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fullcycle.data.task import Head, TaskInfo
from fullcycle.errors import FullcycleError
from fullcycle.metrics import probabilities

# A class needs a row in each of train, dev and test to be learned and measured.
MIN_CLASS_ROWS = 3


@dataclass
class TargetEncoding:
    """How target values become training labels, and back."""

    task: str
    targets: list[str]
    classes: list
    mean: float = 0.0
    std: float = 1.0
    # multitask: one {"name", "task", "classes", "mean", "std"} per target, in output order
    heads: list[dict] = field(default_factory=list)
    # binary: the probability of the second class from which it is predicted (0.5 unless
    # the recipe chose another for F1 on held-out rows, `metrics.best_f1_threshold`)
    threshold: float = 0.5

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Training labels; multitask: an (n, T) float32 matrix, NaN where a label is missing
        (classes as codes, regression targets standardized with their training mean/std)."""
        if self.task == "multitask":
            columns = [TargetEncoding(h["task"], [h["name"]], h["classes"], h["mean"],
                                      h["std"]).encode(frame).astype(np.float32)
                       for h in self.heads]
            y = np.column_stack(columns)
            for j, h in enumerate(self.heads):
                if h["task"] != "regression":
                    y[y[:, j] < 0, j] = np.nan  # missing label (code -1)
            return y
        if self.task == "regression":
            values = pd.to_numeric(frame[self.targets[0]], errors="coerce").to_numpy(float)
            return ((values - self.mean) / self.std).astype(np.float32)
        if self.task == "multilabel":
            return frame[self.targets].apply(pd.to_numeric, errors="coerce").to_numpy(np.float32)
        lookup = {str(c): i for i, c in enumerate(self.classes)}
        codes = frame[self.targets[0]].map(lambda v: lookup.get(label_key(v), -1)).to_numpy()
        if self.task == "binary":
            return codes.astype(np.float32)
        return codes.astype(np.int64)

    @property
    def output_columns(self) -> list[str]:
        """The columns every prediction has, in order (as `fullcycle predict` writes them)."""
        classes = list(self.classes)
        if self.task == "regression":
            return ["prediction"]
        if self.task == "multilabel":
            return [f"prediction_{c}" for c in classes] + [f"proba_{c}" for c in classes]
        return ["prediction"] + [f"proba_{c}" for c in classes]

    def decode(self, outputs: np.ndarray) -> dict[str, np.ndarray]:
        """Logits -> prediction columns: labels and probabilities, or target-unit values
        (the inverse of `encode`, shared by every way of predicting)."""
        if self.task == "regression":
            values = outputs.reshape(-1).astype(np.float64) * self.std + self.mean
            return {"prediction": values}
        proba = probabilities(self.task, outputs)
        classes = list(self.classes)
        if self.task == "multilabel":
            out = {f"prediction_{c}": (proba[:, j] >= 0.5).astype(int)
                   for j, c in enumerate(classes)}
            out.update({f"proba_{c}": proba[:, j] for j, c in enumerate(classes)})
            return out
        if self.task == "binary":
            chosen = (proba >= self.threshold).astype(int)
            proba = np.column_stack([1 - proba, proba])
        else:
            chosen = proba.argmax(axis=1)
        labels = np.asarray(classes, dtype=object)[chosen]
        return {"prediction": labels, **{f"proba_{c}": proba[:, j]
                                         for j, c in enumerate(classes)}}

    def to_dict(self) -> dict:
        return {"task": self.task, "targets": self.targets, "classes": self.classes,
                "mean": self.mean, "std": self.std, "heads": self.heads,
                "threshold": self.threshold}

    def head_list(self) -> list[Head]:
        """The multitask heads as `Head`s (empty for a single task)."""
        return [Head(h["name"], h["task"], tuple(h["classes"])) for h in self.heads]

    @classmethod
    def from_dict(cls, data: dict) -> TargetEncoding:
        return cls(**data)


def label_key(value: object) -> str:
    """A label as the text the classes are kept in (1.0 read from a file is the class '1')."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fit_target(info: TaskInfo, train: pd.DataFrame) -> TargetEncoding:
    """The encoding of `info`'s targets, fitted on the training rows only; refuses a target
    that cannot be learned (constant, infinite, a class with no training rows)."""
    if info.task == "multitask":
        heads = []
        for head in info.heads:
            column = train[head.name]
            if column.notna().sum() == 0:
                raise FullcycleError(f"target '{head.name}' has no label in the training rows; "
                                     "label some of them or drop it from --target")
            labelled = train[column.notna()]
            one = fit_target(TaskInfo(head.task, (head.name,), head.classes), labelled)
            heads.append({"name": head.name, "task": head.task, "classes": one.classes,
                          "mean": one.mean, "std": one.std})
        return TargetEncoding("multitask", list(info.targets), list(info.targets), heads=heads)
    if info.task == "regression":
        values = pd.to_numeric(train[info.targets[0]], errors="coerce").to_numpy(float)
        if not np.isfinite(values).all():
            raise FullcycleError(
                f"regression target '{info.targets[0]}' holds infinite values; fix or drop "
                "those rows"
            )
        std = float(np.nanstd(values))
        if std == 0.0:
            raise FullcycleError(
                f"regression target '{info.targets[0]}' is constant in the training rows; "
                "there is nothing to learn — check the target column"
            )
        return TargetEncoding(info.task, list(info.targets), [], float(np.nanmean(values)),
                              std if std > 0 else 1.0)
    classes = [label_key(c) for c in info.classes]
    if info.task in ("binary", "multiclass"):
        present = set(train[info.targets[0]].map(label_key))
        absent = [c for c in classes if c not in present]
        if absent:
            shown = ", ".join(map(repr, absent[:5])) + (
                f" and {len(absent) - 5:,} more" if len(absent) > 5 else "")
            raise FullcycleError(
                f"{len(absent):,} class(es) ({shown}) have no training rows after the split; "
                "add data for them or merge rare classes"
            )
    return TargetEncoding(info.task, list(info.targets), classes)


def drop_rare_classes(frame: pd.DataFrame, target: str, n_source: int
                       ) -> tuple[pd.DataFrame, int, str | None]:
    """Drop the rows of classes with fewer than `MIN_CLASS_ROWS` rows, and say so.

    Such a class cannot be in train, dev and test at once: where it lands decides whether
    the run is refused (no training row) or its macro-averaged error counts a class on one
    split and not on another (train error 20 points above dev from one row), which
    misleads the diagnosis. AutoGluon drops rare classes the same way; a model of the rest
    is what can be learned and measured.
    """
    labels = frame[target].map(lambda v: None if pd.isna(v) else label_key(v))
    counts = labels.iloc[:n_source].value_counts()
    rare = sorted(str(c) for c, n in counts.items() if n < MIN_CLASS_ROWS)
    if not rare:
        return frame, n_source, None
    shown = ", ".join(repr(c) for c in rare[:5]) + (f" and {len(rare) - 5} more"
                                                   if len(rare) > 5 else "")
    if len(counts) - len(rare) < 2:
        raise FullcycleError(
            f"class(es) {shown} of target '{target}' have fewer than {MIN_CLASS_ROWS} rows, "
            "too few to learn and measure on train, dev and test, and without them one class "
            "is left; collect more rows of them")
    drop = labels.isin(rare).to_numpy()
    note = (f"{int(drop.sum())} rows of {len(rare)} class(es) with fewer than "
            f"{MIN_CLASS_ROWS} rows ({shown}) dropped: too few to learn and measure on "
            "train, dev and test; the model cannot predict them — merge them into a related "
            "class or collect more rows")
    kept = frame.loc[~drop].reset_index(drop=True)
    return kept, n_source - int(drop[:n_source].sum()), note
