"""Drift of pictures: live pictures against the ones a picture bundle was trained on.

Each picture is summarized as `fullcycle.data.picture_stats` describes. Brightness,
contrast, the colour means and the file's width and height are tested like numeric columns
(`fullcycle.monitor.drift`). The 8×8 thumbnails go to a domain classifier: a logistic
regression tries to tell live pictures from the reference, as Evidently does for embeddings
and as `text_drift` does for texts, with the same ROC AUC threshold. The predicted labels
are tested too.

Live pictures come as a folder (searched recursively) or as a CSV / Parquet table with the
bundle's picture column. The reference side reads the statistics the bundle stored for its
reference sample. Only the reference's predictions need the training pictures themselves,
so they are re-predicted where the files are still on disk.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.data.picture_stats import THUMBNAIL, picture_statistics, statistic_kinds
from fullcycle.errors import FullcycleError

MIN_PICTURES = 10


def picture_column_drift(name: str, reference: pd.Series, live: pd.Series, *,
                         reference_rows: int, seed: int = 0) -> Any:
    """The thumbnails' verdict from the domain classifier (a `ColumnDrift`)."""
    from sklearn.model_selection import train_test_split

    from fullcycle.monitor.drift import ColumnDrift
    from fullcycle.monitor.text_drift import LARGE_REFERENCE_AUC, MAX_TEXTS, domain_classifier

    ref, cur = thumbnail_matrix(reference), thumbnail_matrix(live)
    rng = np.random.default_rng(seed)
    ref, cur = (v[np.sort(rng.choice(len(v), MAX_TEXTS, replace=False))]
                if len(v) > MAX_TEXTS else v for v in (ref, cur))
    common = dict(column=name, kind="picture", score="auc", reference_count=len(ref),
                  live_count=len(cur), missing_reference=_missing(reference, len(ref)),
                  missing_live=_missing(live, len(cur)), distinct_values=len(ref) + len(cur))
    if len(ref) < MIN_PICTURES or len(cur) < MIN_PICTURES:
        side = "live data" if len(cur) < MIN_PICTURES else "the reference"
        return ColumnDrift(method="none", statistic=None, threshold=LARGE_REFERENCE_AUC,
                           drift=False, note=f"too few pictures in {side} for the domain "
                           f"classifier (under {MIN_PICTURES})", **common)
    X = np.vstack([ref, cur])
    labels = np.concatenate([np.zeros(len(ref), int), np.ones(len(cur), int)])
    x_fit, x_held, y_fit, y_held = train_test_split(X, labels, test_size=0.5,
                                                    stratify=labels, random_state=seed)
    auc, threshold, _ = domain_classifier(x_fit, y_fit, x_held, y_held,
                                          reference_rows=reference_rows)
    drift = auc > threshold
    note = ("a classifier tells live pictures from the reference by their 8×8 thumbnails"
            if drift else "a classifier cannot tell live pictures from the reference")
    return ColumnDrift(method="domain_classifier", statistic=auc, threshold=threshold,
                       drift=bool(drift), note=note, **common)


def check_pictures(predictor: Any, bundle_dir: str | Path, live_source: str | Path, *,
                   drift_share: float, last: int | None) -> Any:
    """`fullcycle.monitor.check.check_drift` for a bundle that reads pictures."""
    from fullcycle.monitor.check import FEW_LIVE_ROWS, MonitorResult, prediction_column
    from fullcycle.monitor.drift import ColumnDrift, column_drift, dataset_drift

    bundle, pre = predictor.bundle, predictor.preprocessor
    kinds = statistic_kinds(int(pre.channels))
    reference = bundle.reference()
    if THUMBNAIL not in reference.columns:
        raise FullcycleError(f"model bundle {bundle_dir} predates picture monitoring (its "
                             "reference holds no picture statistics); train it again with "
                             "fullcycle run")
    paths, source = live_pictures(live_source, pre.column, last)
    live = picture_statistics(paths, pre)
    notes = []
    unreadable = int(live[THUMBNAIL].isna().sum())
    if unreadable:
        notes.append(f"{unreadable} live picture(s) could not be read and are left out")
    report = dataset_drift(reference, live, kinds, reference_rows=int(bundle.reference_rows),
                           drift_share=drift_share)
    report.notes.extend(notes)
    if len(live) < FEW_LIVE_ROWS:
        report.notes.append(f"only {len(live)} live pictures: too few for a reliable verdict "
                            "(a shift can hide, and one unusual batch can look like drift)")
    on_disk = [p for p in reference[pre.column] if Path(str(p)).is_file()]
    readable = [p for p, ok in zip(paths, live[THUMBNAIL].notna(), strict=True) if ok]
    live_pred = prediction_column(predictor, pd.DataFrame({pre.column: readable}))
    kind = "numeric" if predictor.task == "regression" else "categorical"
    if on_disk:
        ref_pred = prediction_column(predictor, pd.DataFrame({pre.column: on_disk}))
        predictions = column_drift("prediction", ref_pred, live_pred, kind,
                                   reference_rows=int(bundle.reference_rows))
    else:
        ref_pred = pd.Series([], dtype=object)
        predictions = ColumnDrift(
            column="prediction", kind=kind, method="none", statistic=None, threshold=0.0,
            drift=False, score="p_value", reference_count=0, live_count=len(live_pred),
            missing_reference=0.0, missing_live=0.0, distinct_values=0,
            note="the reference pictures are no longer on disk to predict")
    if 0 < len(on_disk) < len(reference):
        report.notes.append(f"prediction drift from the {len(on_disk)} of {len(reference)} "
                            "reference pictures still on disk")
    meta = {"bundle": str(bundle_dir), "live": str(live_source), "source": source,
            "live_files": [str(live_source)], "task": predictor.task,
            "fingerprint": bundle.fingerprint, "checked_at": time.time()}
    return MonitorResult(report, predictions, reference, live,
                         ref_pred.reset_index(drop=True), live_pred, kinds, meta)


def live_pictures(source: str | Path, column: str, last: int | None
                  ) -> tuple[list[str], str]:
    """The live pictures' paths (a folder, searched recursively, or a table's `column`)
    and what they came from; `last` keeps the most recent N (a folder: by file time)."""
    from fullcycle.data.images import PICTURE_EXTENSIONS
    from fullcycle.data.load import load_table

    if last is not None and last < 1:
        raise FullcycleError("--last must be 1 or more pictures")
    path = Path(source)
    if path.is_dir():
        files = sorted((f for f in path.rglob("*") if f.suffix.lower() in PICTURE_EXTENSIONS
                        and f.is_file()), key=lambda f: (f.stat().st_mtime, str(f)))
        if not files:
            kinds = ", ".join(sorted(PICTURE_EXTENSIONS))
            raise FullcycleError(f"{path} holds no pictures ({kinds}); give a folder of "
                                 f"pictures or a table with a {column!r} column of paths")
        kept = files[-last:] if last else files
        return [str(f) for f in kept], "folder"
    frame = load_table(path, name="live data")
    if column not in frame.columns:
        raise FullcycleError(f"{path} has no {column!r} column of picture paths, which the "
                             "model reads; give a table with it, or a folder of pictures")
    values = frame[column].dropna().astype(str)
    base = path.resolve().parent  # relative paths are read from the table's folder
    resolved = [v if Path(v).is_absolute() else str(base / v) for v in values]
    return (resolved[-last:] if last else resolved), "table"


def thumbnail_matrix(values: pd.Series) -> np.ndarray:
    """The stored thumbnails as rows of one matrix (missing ones, unreadable files, left out)."""
    present = [np.asarray(v, dtype=np.float64) for v in values if v is not None
               and not (isinstance(v, float) and np.isnan(v))]
    return np.vstack(present) if present else np.zeros((0, 1))


def _missing(values: pd.Series, present: int) -> float:
    return 1.0 - present / len(values) if len(values) else 0.0
