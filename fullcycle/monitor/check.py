"""One monitoring check: live data against the bundle's training reference.

Every input column the model reads is tested with the default drift method for its kind
and the reference size (`fullcycle.monitor.drift`), and so are the model's predictions (the
predicted label for classification, the value for regression): prediction drift is what a
user feels first, and it needs no labels. Writes ``monitor.json``, ``monitor.html`` and
appends one line to ``history.jsonl`` so a cron job keeps a record of every check.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fullcycle.errors import FullcycleError
from fullcycle.monitor.drift import (
    DRIFT_SHARE,
    ColumnDrift,
    DriftReport,
    column_drift,
    dataset_drift,
)
from fullcycle.monitor.live import LiveData, load_live
from fullcycle.rundir import atomic_write_json, atomic_write_text
from fullcycle.serve.predictor import Predictor

RESULT_FILE = "monitor.json"
PAGE_FILE = "monitor.html"
HISTORY_FILE = "history.jsonl"
FEW_LIVE_ROWS = 100


@dataclass
class MonitorResult:
    """The drift report, the prediction drift, and the data behind them (for the page)."""

    report: DriftReport
    predictions: ColumnDrift
    reference: pd.DataFrame
    live: pd.DataFrame
    reference_predictions: pd.Series
    live_predictions: pd.Series
    kinds: dict[str, str]
    meta: dict[str, Any]

    @property
    def drifted(self) -> bool:
        return self.report.drifted

    def to_dict(self) -> dict[str, Any]:
        return {**self.report.to_dict(), "predictions": self.predictions.to_dict(),
                **self.meta}


def check_drift(bundle_dir: str | Path, live_source: str | Path, *,
                drift_share: float = DRIFT_SHARE, last: int | None = None) -> MonitorResult:
    """Compare ``live_source`` (table or served log) with the bundle's training reference."""
    if not 0 < drift_share <= 1:
        raise FullcycleError(f"--drift-share {drift_share} must be in (0, 1], e.g. 0.5")
    predictor = Predictor.load(bundle_dir)
    bundle, pre = predictor.bundle, predictor.preprocessor
    if bundle.reads_pictures:
        from fullcycle.monitor.picture_drift import check_pictures

        return check_pictures(predictor, bundle_dir, live_source, drift_share=drift_share,
                              last=last)
    reference = bundle.reference()
    kinds = {c.name: "numeric" for c in pre.numeric}
    kinds.update({c.name: "categorical" for c in pre.categorical_columns})
    kinds.update({t.name: "text" for t in pre.text_columns})
    live = load_live(live_source, list(kinds), last=last)
    typed = pre.typed_frame(live.frame)
    report = dataset_drift(reference, typed, kinds, reference_rows=int(bundle.reference_rows),
                           drift_share=drift_share)
    report.notes.extend(live.notes)
    if len(typed) < FEW_LIVE_ROWS:
        report.notes.append(f"only {len(typed)} live rows: too few for a reliable verdict "
                            f"(a shift can hide, and one unusual batch can look like drift)")
    ref_pred = prediction_column(predictor, reference)
    live_pred = prediction_column(predictor, typed)
    kind = "numeric" if predictor.task == "regression" else "categorical"
    predictions = column_drift("prediction", ref_pred, live_pred, kind,
                               reference_rows=int(bundle.reference_rows))
    meta = {"bundle": str(bundle_dir), "live": str(live_source), "source": live.source,
            "live_files": live.files, "task": predictor.task,
            "fingerprint": bundle.fingerprint, "checked_at": time.time()}
    return MonitorResult(report, predictions, reference, typed, ref_pred, live_pred, kinds,
                         meta)


def prediction_column(predictor: Predictor, frame: pd.DataFrame) -> pd.Series:
    """What the model predicts for each row: a label, a label set, or a value."""
    out = predictor.predict_frame(frame, strict=False)
    if predictor.task == "multilabel":
        labels = list(predictor.target.classes)
        return out[[f"prediction_{c}" for c in labels]].apply(
            lambda row: "|".join(c for c, v in zip(labels, row, strict=True) if v) or "(none)",
            axis=1)
    return out["prediction"]


def write_results(result: MonitorResult, out: Path, *, html: bool = True) -> dict[str, str]:
    """monitor.json and monitor.html (replaced atomically), and a line in history.jsonl."""
    from fullcycle.monitor.page import render_page

    out.mkdir(parents=True, exist_ok=True)
    doc = result.to_dict()
    paths = {"json": str(out / RESULT_FILE)}
    atomic_write_json(out / RESULT_FILE, doc)
    if html:
        atomic_write_text(out / PAGE_FILE, render_page(result))
        paths["html"] = str(out / PAGE_FILE)
    line = json.dumps({"checked_at": doc["checked_at"], "live": doc["live"],
                       "live_rows": doc["live_rows"], "drifted": doc["drifted"],
                       "share": doc["share"], "drifted_columns": doc["drifted_columns"],
                       "prediction_drift": doc["predictions"]["drift"]}) + "\n"
    fd = os.open(out / HISTORY_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    paths["history"] = str(out / HISTORY_FILE)
    return paths


__all__ = ["LiveData", "MonitorResult", "check_drift", "write_results"]
