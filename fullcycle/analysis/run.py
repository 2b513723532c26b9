"""Error analysis of a run directory: what ``fullcycle errors DIR`` does.

Reads the run's dev predictions (``dev_predictions.csv``, or recomputed from the model
bundle when the run saved none), analyses them, writes ``error_analysis.json`` (which the
report shows) and ``errors.csv`` (the errors to tag by hand) and, given a tagged file,
adds the ceiling table. A filled-in ``errors.csv`` is never overwritten: the person's
tags are worth more than a fresh copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.analysis.ceiling import CeilingTable, ceiling_table, split_tags
from fullcycle.analysis.errors import ErrorAnalysis, error_analysis, write_errors_csv
from fullcycle.analysis.predictions import PREDICTIONS_NAME, read_dev_predictions
from fullcycle.analysis.recompute import MODEL_DIR, dev_predictions_from_bundle
from fullcycle.data.dataset import fingerprint_frame
from fullcycle.data.load import load_table
from fullcycle.errors import FullcycleError
from fullcycle.journal import Journal
from fullcycle.rundir import JOURNAL_NAME, RunDir

ERROR_ANALYSIS_NAME = "error_analysis.json"
ERRORS_CSV_NAME = "errors.csv"


@dataclass
class RunAnalysis:
    """The analysis of one run, its optional ceiling table, and the files written."""

    analysis: ErrorAnalysis
    ceiling: CeilingTable | None = None
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        document = self.analysis.to_dict()
        document["ceiling"] = None if self.ceiling is None else self.ceiling.to_dict()
        document["notes"] = [*document["notes"], *self.notes]
        document["files"] = dict(self.files)
        return document


def _has_tags(path: Path) -> bool:
    try:
        frame = pd.read_csv(path, usecols=["tags"], dtype={"tags": "string"})
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return False
    return any(split_tags(cell) for cell in frame["tags"].tolist())


def _dev_error(run: RunDir, analysis: ErrorAnalysis) -> float | None:
    """The dev error the ceilings are fractions of (classification only).

    A regression ceiling is a share of the worst-tenth rows, not of the RMSE, and a
    multilabel one a share of examples, not of label decisions, so neither gets an absolute
    error attached.
    """
    if analysis.task in ("regression", "multilabel"):
        return None
    if run.has("summary.json"):
        summary = run.read_json("summary.json")
        dev = (summary.get("errors") or {}).get("dev") if isinstance(summary, dict) else None
        metric = (summary.get("metric") or {}).get("name") if isinstance(summary, dict) else None
        # The run's dev error only equals the misclassified share when the metric is accuracy.
        if isinstance(dev, int | float) and metric in (None, "accuracy"):
            return float(dev)
    return analysis.error


def _decision_threshold(run: RunDir) -> float:
    """The binary decision threshold the run chose (summary.json), 0.5 if none."""
    if not run.has("summary.json"):
        return 0.5
    summary = run.read_json("summary.json")
    chosen = summary.get("decision_threshold") if isinstance(summary, dict) else None
    value = chosen.get("value") if isinstance(chosen, dict) else None
    return float(value) if isinstance(value, int | float) and 0 < value < 1 else 0.5


def _input_columns(run: RunDir, rows: np.ndarray) -> tuple[pd.DataFrame | None, str | None]:
    """The dev rows' input columns, read back from the run's data file.

    The journal records the data file the run read and ``split.json`` its fingerprint; the
    columns are used only when the file still holds exactly that data, so slices never mix
    rows of a file that changed since. Returns the columns, or None and the reason.
    """
    if not (run.has(JOURNAL_NAME) and run.has("split.json")):
        return None, "no journal or split.json: slices need the run's data file"
    journal = Journal(run.file(JOURNAL_NAME))
    try:
        configs = [r.get("config") or {} for r in journal.runs()]
    finally:
        journal.close()
    sources = [
        c["data"] for c in configs if isinstance(c.get("data"), str) and c["data"] != "DataFrame"
    ]
    if not sources:
        return None, "the run was given a DataFrame, not a file: no input columns to slice by"
    source = Path(sources[-1])
    if not source.is_file():
        return None, f"data file {source} not found: slices skipped"
    split = run.read_json("split.json")
    frame = load_table(source)
    if fingerprint_frame(frame) != split.get("fingerprint"):
        return None, f"{source} changed since the run (fingerprint differs): slices skipped"
    if len(rows) and int(rows.max()) >= len(frame):
        return None, "dev rows come from --dev-data, which the run did not record: slices skipped"
    targets = [t for t in split.get("targets") or [] if t in frame.columns]
    return frame.iloc[rows].drop(columns=targets).reset_index(drop=True), None


def analyse_run(
    run_dir: str | Path, *, tags: str | Path | None = None, top_k: int = 20
) -> RunAnalysis:
    """Analyse the dev errors of a run directory and write the files a person works from."""
    run = RunDir(run_dir, create=False)
    if run.has(PREDICTIONS_NAME):
        dev = read_dev_predictions(run.file(PREDICTIONS_NAME))
    elif run.has(MODEL_DIR):
        dev = dev_predictions_from_bundle(run.path)
    else:
        raise FullcycleError(
            f"{run.path} has neither {PREDICTIONS_NAME} nor a model/ bundle; run `fullcycle run "
            f"DATA --target COL --out {run.path}` first"
        )
    features, why_not = dev.features, None
    if features.shape[1] == 0:
        features, why_not = _input_columns(run, dev.rows)
    analysis = error_analysis(
        dev.y_true,
        dev.predictions,
        task=dev.task,
        classes=dev.classes,
        features=features,
        rows=dev.rows,
        top_k=top_k,
        threshold=_decision_threshold(run),
    )
    result = RunAnalysis(analysis)
    if why_not:
        result.notes.append(why_not)
    if tags is not None:
        result.ceiling = ceiling_table(tags, _dev_error(run, analysis))
    errors_csv = run.file(ERRORS_CSV_NAME)
    if errors_csv.exists() and _has_tags(errors_csv):
        if tags is None:
            result.notes.append(
                f"{errors_csv} already holds tags and was left as it is; pass it with --tags "
                "to get the ceiling table"
            )
    else:
        write_errors_csv(analysis, errors_csv)
    result.files["errors_csv"] = str(errors_csv)
    result.files["error_analysis"] = str(run.write_json(ERROR_ANALYSIS_NAME, result.to_dict()))
    return result
