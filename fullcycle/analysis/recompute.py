"""Dev predictions recomputed from a run's model bundle, for runs that saved none.

``fullcycle run`` saves ``dev_predictions.csv``; ``fullcycle train`` saves only the bundle.
For those, the dev rows are rebuilt from the data file the journal recorded (with the run's
split options and seed, or ``split.json`` when saved), checked against the data fingerprint
the run journaled, transformed with the bundle's own preprocessing and predicted by the
bundle, so the analysis sees exactly what the saved model does on the run's dev set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fullcycle.analysis.predictions import DevPredictions
from fullcycle.errors import FullcycleError
from fullcycle.journal import Journal
from fullcycle.rundir import JOURNAL_NAME, RunDir

MODEL_DIR = "model"


def _run_record(run: RunDir) -> tuple[dict[str, Any], str | None]:
    """The config of the latest journaled run that read a data file, and its fingerprint."""
    if not run.has(JOURNAL_NAME):
        raise FullcycleError(
            f"{run.path} has no journal, so the data behind its model is unknown; re-create "
            "the run with `fullcycle run` or `fullcycle train`"
        )
    journal = Journal(run.file(JOURNAL_NAME))
    try:
        for record in reversed(journal.runs()):
            config = record.get("config") or {}
            if isinstance(config.get("data"), str) and config["data"] != "DataFrame":
                fingerprints = [
                    e.get("data_fingerprint") for e in journal.experiments(record["id"])
                ]
                known = [f for f in fingerprints if f]
                return config, (known[-1] if known else None)
    finally:
        journal.close()
    raise FullcycleError(
        f"{run.path} was trained from a DataFrame, not a file; call fc.error_analysis(y, proba, "
        "features=...) on the dev rows in Python instead"
    )


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value or []]


def _prepare(run: RunDir, config: dict[str, Any], fingerprint: str | None) -> Any:
    from fullcycle.data.dataset import prepare
    from fullcycle.data.splits import SplitOptions

    data = Path(config["data"])
    if not data.is_file():
        raise FullcycleError(
            f"data file {data} of the run in {run.path} not found; put it back to analyse the "
            "run's dev errors"
        )
    options = SplitOptions(
        dev_size=config.get("dev_size"),
        test_size=config.get("test_size"),
        group_column=config.get("group_column"),
        time_column=config.get("time_column"),
        seed=int(config.get("seed") or 0),
    )
    target = config["target"]
    prepared = prepare(
        data,
        target if isinstance(target, str) else list(target),
        task=config.get("task"),
        dev_data=config.get("dev_data"),
        split=options,
        ignore=_names(config.get("ignore")),
        drop_missing_target=bool(config.get("drop_missing_target")),
        saved_split=run.read_json("split.json") if run.has("split.json") else None,
    )
    if fingerprint and prepared.fingerprint != fingerprint:
        raise FullcycleError(
            f"{data} changed since the run in {run.path} (fingerprint differs); analyse the "
            "run with the data it was trained on"
        )
    return prepared


def dev_predictions_from_bundle(run_dir: str | Path) -> DevPredictions:
    """Predict the run's dev rows with its saved bundle (see module docstring)."""
    from fullcycle.data.preprocess import Preprocessor
    from fullcycle.data.target_encoding import TargetEncoding
    from fullcycle.metrics import probabilities
    from fullcycle.models.bundle import load_bundle

    run = RunDir(run_dir, create=False)
    bundle = load_bundle(run.file(MODEL_DIR))
    config, fingerprint = _run_record(run)
    prepared = _prepare(run, config, fingerprint)
    try:
        preprocessor = Preprocessor.from_dict(bundle.preprocessing["features"])
        encoding = TargetEncoding.from_dict(bundle.preprocessing["target"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FullcycleError(
            f"model bundle {bundle.path} lacks its preprocessing ({exc}); re-create the run"
        ) from None
    frame = prepared.frame_of("dev")
    if len(frame) == 0:
        raise FullcycleError(f"the run in {run.path} has an empty dev set; nothing to analyse")
    outputs = bundle.outputs(preprocessor.transform(frame))
    y = encoding.encode(frame)
    task, classes = bundle.task, [str(c) for c in encoding.classes or []]
    rows = np.asarray(prepared.rows["dev"], dtype=np.int64)
    features = frame.drop(columns=[t for t in encoding.targets if t in frame.columns])
    features = features.reset_index(drop=True)
    if task == "regression":
        scale = (encoding.std, encoding.mean)
        y_pred = outputs.numpy().reshape(-1) * scale[0] + scale[1]
        return DevPredictions(task, rows, y * scale[0] + scale[1], y_pred, None, features)
    proba = probabilities(task, outputs)
    if task == "multilabel":
        return DevPredictions(task, rows, y, proba, classes, features)
    if task == "binary":
        proba = np.column_stack([1 - proba, proba])
    labels = np.array(classes, dtype=object)[y.astype(int)]
    return DevPredictions(task, rows, labels.astype(str), proba, classes, features)
