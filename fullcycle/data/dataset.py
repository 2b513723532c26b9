"""From a data file to arrays the engine trains on: `prepare()`.

Chains the data building blocks — load, validate the target, infer the task, split, fit the
preprocessing on train only — and keeps the test split locked: its arrays are handed out
only through `Prepared.test(reason)`, which counts every access so the report can say how
often the test set was looked at (seed 003: the test set is for one final, unbiased
estimate).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fullcycle.data.inputs import (
    SplitSpec,
    TargetSpec,
    is_xy,
    split_options,
    table_and_targets,
)
from fullcycle.data.load import TableSource, load_table, loading_notes
from fullcycle.data.preprocess import Preprocessor
from fullcycle.data.splits import (
    SPLIT_NAMES,
    Split,
    SplitOptions,
    duplicates_across_splits,
    make_split,
)
from fullcycle.data.target_encoding import (
    TargetEncoding,
    drop_rare_classes,
    fit_target,
    label_key,
)
from fullcycle.data.task import Head, TaskInfo, infer_task
from fullcycle.data.text import TextOptions, text_target_hint
from fullcycle.errors import FullcycleError

SPLIT_FILE = "split.json"
PREPROCESSING_FILE = "preprocessing.json"


@dataclass
class Prepared:
    """Everything later steps need: arrays per split, the fitted preprocessing, the split."""

    task: str
    targets: list[str]
    classes: list
    frame: pd.DataFrame
    features: list[str]
    split: Split
    preprocessor: Preprocessor
    target_encoding: TargetEncoding
    X: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    rows: dict[str, np.ndarray]
    fingerprint: str
    duplicates: dict
    notes: list[str] = field(default_factory=list)
    test_access_reasons: list[str] = field(default_factory=list)
    n_source_rows: int = 0
    _test: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    # pictures (`fullcycle.data.images`): layout, size, channels, mean/std, unreadable
    # files; then X[split] are lazy `ImageArray`s and `preprocessor` an `ImagePreprocessor`
    images: dict | None = None

    @property
    def is_images(self) -> bool:
        """True when the inputs are pictures decoded on demand rather than a matrix."""
        return self.images is not None

    def __repr__(self) -> str:
        sizes = " ".join(f"{k}={v}" for k, v in self.sizes.items())
        return (f"Prepared({self.task}, target {', '.join(map(repr, self.targets))}, "
                f"{self.preprocessor.n_features} features, {sizes}, "
                f"test read {self.test_accesses}x)")

    @property
    def test_accesses(self) -> int:
        """How many times the locked test split was read (its reasons: test_access_reasons)."""
        return len(self.test_access_reasons)

    @property
    def heads(self) -> list[Head]:
        """Multitask: one `Head` per target, in output order; empty otherwise."""
        return self.target_encoding.head_list()

    @property
    def error_scale(self) -> float:
        """Multiply an RMSE on standardized targets by this to get the target's units."""
        return float(self.target_encoding.std) if self.task == "regression" else 1.0

    @property
    def target_mean(self) -> float:
        return float(self.target_encoding.mean)

    @property
    def target_std(self) -> float:
        return float(self.target_encoding.std)

    def test(self, reason: str) -> tuple[np.ndarray, np.ndarray]:
        """The locked test split; every call is counted and its reason recorded."""
        self.test_access_reasons.append(reason)
        assert self._test is not None
        return self._test

    @property
    def sizes(self) -> dict[str, int]:
        """Rows per split: ``{"train", "train_dev", "dev", "test"}``."""
        return self.split.sizes()

    @property
    def text_columns(self) -> list[str]:
        """Names of the input columns tokenized as free text."""
        return [t.name for t in self.preprocessor.text_columns]

    def frame_of(self, split: str) -> pd.DataFrame:
        """Raw rows of one split (train, train_dev, dev; test is locked)."""
        if split == "test":
            raise FullcycleError("the test split is locked; use Prepared.test(reason)")
        return self.frame.iloc[self.rows[split]]

    def summary(self) -> dict:
        """The `fullcycle split --json` document."""
        return {
            "task": self.task,
            "targets": self.targets,
            "classes": self.classes,
            "n_rows": int(len(self.frame)),
            "splits": self.sizes,
            "strategy": self.split.strategy,
            "duplicates_across_splits": self.duplicates["count"],
            "duplicate_rows": self.duplicates["rows"],
            "duplicate_examples": self.duplicates["examples"],
            "n_features": self.preprocessor.n_features,
            "features": self.preprocessor.feature_names,
            "dropped_columns": self.preprocessor.dropped,
            "fingerprint": self.fingerprint,
            "class_balance": self.class_balance(),
            "notes": self.notes + self.split.notes + self.preprocessor.notes,
            **({"images": self.images} if self.images is not None else {}),
        }

    def class_balance(self) -> dict:
        """Share of each class per split (classification), or the target mean (regression)."""
        out: dict = {}
        for name in ("train", "train_dev", "dev"):
            y = self.y[name]
            if len(y) == 0:
                continue
            if self.task in ("binary", "multiclass"):
                counts = np.bincount(y.astype(int), minlength=len(self.classes))
                out[name] = {str(c): float(n / len(y)) for c, n in zip(self.classes, counts,
                                                                       strict=True)}
            elif self.task == "multilabel":
                out[name] = {c: float(np.nanmean(y[:, i])) for i, c in enumerate(self.classes)}
            elif self.task == "multitask":
                out[name] = {h.name: {"labelled": int(np.isfinite(y[:, j]).sum())}
                             for j, h in enumerate(self.heads)}
        return out

    def save(self, directory: str | Path) -> None:
        """Write split.json and preprocessing.json (atomic), so later commands see the same rows."""
        from fullcycle.rundir import atomic_write_json

        directory = Path(directory)
        atomic_write_json(directory / SPLIT_FILE, {
            "fingerprint": self.fingerprint, "n_rows": int(len(self.frame)),
            "n_source_rows": self.n_source_rows, "task": self.task, "targets": self.targets,
            **self.split.to_dict(), "duplicates_across_splits": self.duplicates,
        })
        atomic_write_json(directory / PREPROCESSING_FILE, {
            "features": self.preprocessor.to_dict(), "target": self.target_encoding.to_dict(),
        })


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """sha256 of the table's values and column names: same data, same fingerprint."""
    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def prepare(
    source: TableSource | tuple,
    target: TargetSpec = None,
    *,
    task: str | None = None,
    dev_data: TableSource | tuple | None = None,
    split: SplitSpec = None,
    ignore: list[str] | None = None,
    drop_missing_target: bool = False,
    saved_split: dict | None = None,
    preprocessor: Preprocessor | None = None,
    target_encoding: TargetEncoding | None = None,
    text_columns: list[str] | None = None,
    text_options: TextOptions | None = None,
) -> Prepared:
    """Load, check, split and preprocess a table for training (see module docstring).

    ``source`` is a CSV/Parquet path, a DataFrame, a 2-D array or ``(X, y)``; ``target`` a
    column name or index, a list of them (multilabel) or the labels themselves (a Series
    or array); ``split`` a `SplitOptions` or a dict of its fields (see `fullcycle.data.inputs`).
    ``preprocessor`` / ``target_encoding``: reuse a model's fitted preprocessing instead of
    fitting it on this training split (retraining from a bundle keeps the input scale, the
    tokenizer and the class codes its weights were learned with).
    `text_columns` are tokenized as free text (other free-text columns are detected);
    `text_options` choose the tokenizer, lower-casing and unicode normalization.
    """
    options = split_options(split)
    frame, targets = table_and_targets(source, target)
    n_source = len(frame)
    notes: list[str] = loading_notes(frame)
    if dev_data is not None:
        if is_xy(dev_data):
            new, _ = table_and_targets(dev_data, targets[0] if len(targets) == 1 else None,
                                       name="dev data")
        else:
            new = load_table(dev_data, name="dev data")
        missing = [c for c in frame.columns if c not in new.columns]
        if missing:
            raise FullcycleError(
                f"--dev-data lacks column(s) {', '.join(missing)} that the training data has; "
                "give both files the same columns"
            )
        frame = pd.concat([frame, new[frame.columns]], ignore_index=True)
    _check_columns(frame, targets, ignore or [], options)
    _check_text_columns(frame, targets, ignore or [], text_columns or [])
    text_target_hint(frame, targets)
    frame, n_source, dropped_rows = _handle_missing_target(frame, targets, n_source,
                                                           drop_missing_target)
    if dropped_rows:
        notes.append(f"{dropped_rows} rows with a missing target dropped (--drop-missing-target)")
    if target_encoding is not None:
        check_known_classes(frame, targets, target_encoding)
    info = infer_task(frame, targets, task)
    if target_encoding is None and info.task in ("binary", "multiclass"):
        frame, n_source, rare = drop_rare_classes(frame, targets[0], n_source)
        if rare:
            notes.append(rare)
            info = infer_task(frame, targets, task)
    features = [c for c in frame.columns
                if c not in targets and c not in (ignore or [])
                and c not in (options.group_column, options.time_column)]
    if not features:
        raise FullcycleError("no feature columns left besides the target; check --target/--ignore")
    fingerprint = fingerprint_frame(frame)
    if saved_split is not None:
        if saved_split.get("fingerprint") != fingerprint:
            raise FullcycleError(
                "the data changed since the split was saved (fingerprint differs); "
                "split again or use the original file"
            )
        the_split = Split.from_dict(saved_split)
    else:
        the_split = make_split(
            n_source, options,
            strata=_strata(frame, info),
            groups=frame[options.group_column].to_numpy() if options.group_column else None,
            times=frame[options.time_column] if options.time_column else None,
            n_target_rows=len(frame) - n_source,
        )
    return _assemble(frame, info, features, the_split, fingerprint, notes, n_source,
                     preprocessor, target_encoding, text_columns, text_options)


def check_known_classes(frame: pd.DataFrame, targets: list[str],
                         encoding: TargetEncoding) -> None:
    """Data for a fitted model must have its target columns and only classes it knows."""
    if list(targets) != list(encoding.targets):
        raise FullcycleError(
            f"the target is {targets}, the model's is {encoding.targets}; give data with the "
            f"model's target, or train a new model"
        )
    if encoding.task in ("binary", "multiclass"):
        unknown = sorted(set(frame[targets[0]].map(label_key)) - set(encoding.classes))
        if unknown:
            raise FullcycleError(
                f"the data has class(es) {unknown} the model does not know (it knows "
                f"{encoding.classes}); train a new model with fullcycle run"
            )


def _assemble(frame: pd.DataFrame, info: TaskInfo, features: list[str], the_split: Split,
              fingerprint: str, notes: list[str], n_source: int,
              preprocessor: Preprocessor | None = None,
              encoding: TargetEncoding | None = None,
              text_columns: list[str] | None = None,
              text_options: TextOptions | None = None) -> Prepared:
    train_frame = frame.iloc[the_split.indices["train"]]
    classes = list(info.classes) if encoding is None else list(encoding.classes)
    # the tokenizer, like every statistic, is learned from the training rows alone
    preprocessor = preprocessor or Preprocessor.fit(train_frame, features,
                                                    text_columns=text_columns,
                                                    text_options=text_options)
    encoding = encoding or fit_target(info, train_frame)
    X, y, rows = {}, {}, {}
    for name in SPLIT_NAMES:
        idx = the_split.indices[name]
        part = frame.iloc[idx]
        rows[name] = idx
        X[name] = preprocessor.transform(part)
        y[name] = encoding.encode(part)
        if name != "train" and name != "test":
            for column, cut in preprocessor.last_truncated.items():
                if cut:
                    notes.append(f"column '{column}': {cut} of {len(idx)} {name} texts cut "
                                 "to the training length cap")
    test = (X.pop("test"), y.pop("test"))
    duplicates = duplicates_across_splits(frame[features], the_split)
    if duplicates["count"]:
        notes.append(f"{duplicates['count']} feature rows appear in more than one split "
                     "(leakage): see duplicates_across_splits")
    return Prepared(task=info.task, targets=list(info.targets), classes=classes,
                    frame=frame, features=features, split=the_split, preprocessor=preprocessor,
                    target_encoding=encoding, X=X, y=y, rows=rows, fingerprint=fingerprint,
                    duplicates=duplicates, notes=notes, n_source_rows=n_source, _test=test)


def _check_columns(frame: pd.DataFrame, targets: list[str], ignore: list[str],
                   options: SplitOptions) -> None:
    columns = list(frame.columns)
    shown = ", ".join(columns[:20]) + (", …" if len(columns) > 20 else "")
    for name, flag in [*((t, "--target") for t in targets), *((c, "--ignore") for c in ignore),
                       (options.group_column, "--group-column"),
                       (options.time_column, "--time-column")]:
        if name is not None and name not in frame.columns:
            raise FullcycleError(f"{flag} column '{name}' not found; columns are: {shown}")
    if options.group_column and options.time_column:
        raise FullcycleError("give --group-column or --time-column, not both")


def _check_text_columns(frame: pd.DataFrame, targets: list[str], ignore: list[str],
                        text_columns: list[str]) -> None:
    columns = list(frame.columns)
    shown = ", ".join(columns[:20]) + (", …" if len(columns) > 20 else "")
    for name in text_columns:
        if name not in frame.columns:
            raise FullcycleError(f"--text-column '{name}' not found; columns are: {shown}")
        if name in targets:
            raise FullcycleError(f"--text-column '{name}' is also the target; a text column "
                                 "is an input: pass a label column as --target")
        if name in ignore:
            raise FullcycleError(f"--text-column '{name}' is also in --ignore; keep it in "
                                 "one of the two")


def _handle_missing_target(frame: pd.DataFrame, targets: list[str], n_source: int,
                           drop: bool) -> tuple[pd.DataFrame, int, int]:
    # multilabel: a blank label is "unknown" (left out of the loss); only all-blank rows count
    empty = (frame[targets].isna().all(axis=1) if len(targets) > 1
             else frame[targets[0]].isna())
    count = int(empty.sum())
    if not count:
        return frame, n_source, 0
    if not drop:
        raise FullcycleError(
            f"target has missing values in {count} of {len(frame)} rows; fill them, or pass "
            "--drop-missing-target to drop those rows"
        )
    kept_source = int((~empty.iloc[:n_source]).sum())
    frame = frame[~empty].reset_index(drop=True)
    if len(frame) == 0:
        raise FullcycleError("every row has a missing target; check the --target column")
    return frame, kept_source, count


def _strata(frame: pd.DataFrame, info: TaskInfo) -> np.ndarray | None:
    """Class labels for classification; target deciles for regression (keeps its spread)."""
    if info.task in ("binary", "multiclass"):
        return frame[info.targets[0]].map(label_key).to_numpy()
    if info.task == "regression":
        values = pd.to_numeric(frame[info.targets[0]], errors="coerce")
        try:
            return pd.qcut(values, q=10, labels=False, duplicates="drop").to_numpy()
        except ValueError:
            return None
    return None
