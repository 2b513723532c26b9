"""Maintenance: retrain a deployed model on new data, starting from the last model.

Seed 000 (stage 7, maintenance): when the data moves, retrain from the model in production
rather than from scratch. The new data is split by the usual rules (the seeds' sizes,
stratified, group- or time-aware on request) but keeps the bundle's preprocessing, so the
weights see inputs on the scale they were learned on; the network starts from the bundle's
weights and is trained under the time budget with early stopping. Both models are then
measured on the **new** dev set — the distribution the model will meet next — and the new
one replaces the old only when its dev error is lower and every satisficing constraint
holds. The decision and its reason are journaled. The old bundle is never written into: it
is renamed aside (``model.previous-<time>``) and the new one is renamed into its place.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fullcycle.data.dataset import prepare
from fullcycle.data.load import load_table
from fullcycle.data.splits import SplitOptions
from fullcycle.engine.events import Callback
from fullcycle.engine.journaling import JournalCallback
from fullcycle.errors import FullcycleError
from fullcycle.metrics import CLASSIFICATION, REGRESSION
from fullcycle.models.bundle import load_bundle, save_bundle
from fullcycle.recipe.budget import parse_duration
from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.satisfice import parse_constraints, violations
from fullcycle.recipe.trainer import split_error, train
from fullcycle.rundir import RunDir
from fullcycle.serve.predictor import Predictor

REASON = ("maintenance (seed 000): the data moved; retrain from the last model on new data, "
          "judged on the new dev set")
# Knobs of the run that made the bundle, reused when its summary.json says what they were;
# the architecture comes from the bundle itself.
TRAINING_KNOBS = ("l2", "l1", "optimizer", "beta1", "lr", "schedule", "batch_size",
                  "clip_norm", "clip_value")
ARCHITECTURE = ("hidden", "activation", "init", "dropout", "batch_norm")


@dataclass(frozen=True)
class RetrainResult:
    """What retraining decided, with the numbers behind it."""

    replaced: bool
    reason: str
    doc: dict[str, Any]


def _prepare_table(old: Predictor, new_data: str | Path, split: SplitOptions) -> Any:
    """New rows read with the bundle's preprocessing and target encoding."""
    frame = load_table(new_data, name="new data")
    needed = [*old.preprocessor.used_columns, *old.target.targets]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise FullcycleError(f"{new_data} lacks column(s) {', '.join(missing)} that the model "
                             f"was trained with; give new data with the same columns")
    return prepare(frame, list(old.target.targets), task=old.bundle.task, split=split,
                   preprocessor=old.preprocessor, target_encoding=old.target)


def _prepare_pictures(old: Predictor, features: dict[str, Any], new_data: str | Path,
                      split: SplitOptions) -> Any:
    """New pictures (class folders, or a table of paths and labels) at the bundle's size,
    channels and normalization, labels encoded as the bundle encodes them."""
    from fullcycle.data.images import ImageOptions, prepare_images

    table = not Path(new_data).is_dir()
    options = ImageOptions(image_column=features["column"] if table else None,
                           image_size=(int(features["height"]), int(features["width"])),
                           channels=int(features["channels"]),
                           statistics=(tuple(features["mean"]), tuple(features["std"])))
    return prepare_images(new_data, list(old.target.targets) if table else None,
                          options=options, task=old.bundle.task, split=split,
                          target_encoding=old.target)


def retrain_config(bundle_dir: Path, architecture: dict[str, Any], *, epochs: int | None,
                   lr: float | None, seed: int, pictures: bool = False) -> TrainConfig:
    """The `TrainConfig` of the warm start: the bundle's architecture, the training knobs of
    the run that wrote it (RUN_DIR/summary.json, where it recorded them), then the flags. A
    picture network keeps the picture knobs its run chose (augmentation, frozen layers), or
    its architecture's when that run's summary is gone."""
    try:
        summary = json.loads((bundle_dir.resolve().parent / "summary.json").read_text())
    except (OSError, ValueError):
        summary = {}
    previous = ((summary.get("chosen") or {}).get("config") or summary.get("config")
                or summary.get("flags") or {}) if isinstance(summary, dict) else {}
    knobs = {k: previous[k] for k in TRAINING_KNOBS if previous.get(k) is not None}
    if pictures:
        knobs["hidden"] = ()
        knobs["images"] = previous.get("images") or {
            "widths": architecture.get("widths", ()), "blocks": architecture.get("blocks", 1),
            "dropout": architecture.get("dropout", 0.0),
            "stem_stride": architecture.get("stem_stride", 1),
            "channels": architecture.get("in_channels", 1)}
    else:
        knobs.update({k: architecture[k] for k in ARCHITECTURE if k in architecture})
    knobs.update({"epochs": epochs, "seed": seed, **({"lr": lr} if lr is not None else {})})
    return TrainConfig.from_dict(knobs)


def retrain_bundle(bundle_dir: str | Path, new_data: str | Path, *, out: str | Path | None = None,
                   budget: str = "2m", epochs: int | None = None, lr: float | None = None,
                   satisfice: str | None = None, split: SplitOptions | None = None,
                   replace: bool = True, progress: bool | Callback = False) -> RetrainResult:
    """Warm-start from ``bundle_dir`` on ``new_data``; replace the bundle only if better."""
    bundle_dir = Path(bundle_dir)
    if epochs is not None and epochs < 1:
        raise FullcycleError("--epochs must be 1 or more")
    constraints = parse_constraints(satisfice)
    split = split or SplitOptions()
    deadline = time.monotonic() + parse_duration(budget)
    old = Predictor.load(bundle_dir)
    bundle = old.bundle
    pictures = bundle.reads_pictures
    p = (_prepare_pictures(old, bundle.preprocessing["features"], new_data, split)
         if pictures else _prepare_table(old, new_data, split))
    metric = _metric_name(bundle.metrics, p.task)
    config = retrain_config(bundle_dir, bundle.architecture.get("config") or {}, epochs=epochs,
                            lr=lr, seed=split.seed, pictures=pictures)
    run = RunDir(out or bundle_dir.resolve().parent / f"retrain-{_stamp()}")
    journal = run.journal
    settings = {"bundle": str(bundle_dir), "new_data": str(new_data), "budget": budget,
                "metric": metric, "config": config.to_dict()}
    run_id = journal.start_run("retrain", settings)
    experiment_id = journal.start_experiment(run_id, "warm start", settings, split.seed,
                                             p.fingerprint, REASON)

    outcome = train(p, config, metric=metric, deadline=deadline, progress=progress,
                    journal=JournalCallback(journal, experiment_id, run_id),
                    start_from=load_bundle(bundle_dir).model)  # a copy: the old stays as is
    metric = outcome.metric
    old_metric, old_dev = split_error(p, bundle.model, metric, p.X["dev"], p.y["dev"])
    new_dev = outcome.dev_error
    values = {"latency_ms": outcome.latency_ms, "params": float(outcome.n_parameters),
              "train_seconds": outcome.seconds}
    broken = violations(constraints, values)
    better = new_dev < float(old_dev)
    replaced = better and not broken and replace
    reason = _reason(old_dev, new_dev, len(p.X["dev"]), broken, outcome.diverged, better,
                     replace)

    chosen = outcome.model if replaced else bundle.model
    X_test, y_test = p.test("final estimate of the bundle kept after retraining")
    _, test_error = split_error(p, chosen, metric, X_test, y_test)
    candidate_dir = save_bundle(
        run.file("model"), outcome.model.eval(), bundle.preprocessing, p.task,
        {"metric": {"name": metric, **outcome.metrics},
         "errors": {**outcome.errors, "test": test_error if replaced else None}},
        bundle.input_schema, classes=bundle.classes, reference=p.frame_of("train"))
    archived = _swap(bundle_dir, candidate_dir) if replaced else None
    observed = {"old_dev_error": old_dev,
                "new_dev_error": None if outcome.diverged else new_dev,
                "dev_rows": len(p.X["dev"]), "metric": metric, "violations": broken}
    action = "replaced the bundle" if replaced else "kept the old bundle"
    journal.end_experiment(experiment_id, "diverged" if outcome.diverged else "finished",
                           {"errors": outcome.errors, **values}, kept=replaced)
    journal.log_decision(run_id, "retrain", observed, action, reason, experiment_id)
    journal.end_run(run_id, "finished")
    doc = {"replaced": replaced, "reason": reason, "action": action, "metric": metric,
           "old": {"dev_error": old_dev, "dev_metric": old_metric},
           "new": {"errors": outcome.errors, "diverged": outcome.diverged, **values,
                   "epochs_run": outcome.epochs_run, "best_epoch": outcome.best_epoch,
                   "stopped_by_deadline": outcome.stopped_by_deadline},
           "test_error": test_error, "test_accesses": p.test_accesses,
           "splits": p.sizes, "config": outcome.config.to_dict(), "bundle": str(bundle_dir),
           "candidate": str(candidate_dir), "archived_old_bundle": archived,
           "out": str(run.path), "journal": str(journal.path)}
    run.write_json("summary.json", {"retrain": doc})
    return RetrainResult(replaced, reason, doc)


def _reason(old_dev: float | None, new_dev: float, dev_rows: int, broken: list[str],
            diverged: str | None, better: bool, replace: bool) -> str:
    where = f"on the new dev set ({dev_rows} rows)"
    if diverged:
        return f"kept the old bundle: retraining diverged ({diverged})"
    comparison = f"new dev error {new_dev:.4g} {'<' if better else '≥'} old {old_dev:.4g} {where}"
    if not better:
        return f"kept the old bundle: {comparison}"
    if broken:
        return f"kept the old bundle: {comparison}, but it breaks {', '.join(broken)}"
    if not replace:
        return f"kept the old bundle (--no-replace): {comparison}"
    return f"replaced the bundle: {comparison}, every satisficing constraint holds"


def _swap(bundle_dir: Path, candidate: Path) -> str:
    """Put a copy of ``candidate`` where ``bundle_dir`` is; the old bundle is renamed aside,
    never written into. Between the two renames the path is empty for microseconds."""
    staged = bundle_dir.parent / f".{bundle_dir.name}.incoming-{os.getpid()}"
    shutil.copytree(candidate, staged)
    archived = bundle_dir.parent / f"{bundle_dir.name}.previous-{_stamp()}"
    os.replace(bundle_dir, archived)
    os.replace(staged, bundle_dir)
    return str(archived)


def _metric_name(metrics: dict[str, Any], task: str) -> str | None:
    """The single metric the bundle's run optimized, when it recorded one for this task."""
    metric = metrics.get("metric") if isinstance(metrics, dict) else None
    name = metric.get("name") if isinstance(metric, dict) else metric
    allowed = REGRESSION if task == "regression" else CLASSIFICATION
    return name if name in allowed else None


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{time.time_ns() % 10**6:06d}"
