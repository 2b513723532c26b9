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
from fullcycle.engine.callbacks import TrainingDiverged
from fullcycle.engine.events import Callback
from fullcycle.engine.fit import fit
from fullcycle.engine.losses import loss_for_task
from fullcycle.errors import FullcycleError
from fullcycle.metrics import CLASSIFICATION, REGRESSION, default_metric
from fullcycle.models.bundle import load_bundle, save_bundle
from fullcycle.recipe.budget import parse_duration
from fullcycle.recipe.satisfice import parse_constraints, violations
from fullcycle.recipe.trainer import Deadline, measure_latency_ms, split_error
from fullcycle.rundir import RunDir
from fullcycle.serve.predictor import Predictor

REASON = ("maintenance (seed 000): the data moved; retrain from the last model on new data, "
          "judged on the new dev set")
# Knobs of the run that made the bundle, reused when its summary.json says what they were.
SETTINGS = ("lr", "batch_size", "optimizer", "schedule", "l2")
DEFAULTS = {"lr": 1e-3, "batch_size": 64, "optimizer": "adam", "schedule": "cosine", "l2": 0.0}


@dataclass(frozen=True)
class RetrainResult:
    """What retraining decided, with the numbers behind it."""

    replaced: bool
    reason: str
    doc: dict[str, Any]


def previous_settings(bundle_dir: Path) -> dict[str, Any]:
    """The training knobs of the run that wrote the bundle (RUN_DIR/summary.json), where
    it recorded them; the engine's defaults otherwise."""
    settings = dict(DEFAULTS)
    summary_path = bundle_dir.resolve().parent / "summary.json"
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, ValueError):
        return settings
    chosen = (summary.get("chosen") or {}).get("config") or summary.get("flags") or {}
    settings.update({k: chosen[k] for k in SETTINGS if chosen.get(k) is not None})
    return settings


def retrain_bundle(bundle_dir: str | Path, new_data: str | Path, *, out: str | Path | None = None,
                   budget: str = "2m", epochs: int = 30, patience: int = 5,
                   lr: float | None = None, satisfice: str | None = None,
                   split: SplitOptions | None = None, replace: bool = True,
                   progress: bool | Callback = False) -> RetrainResult:
    """Warm-start from ``bundle_dir`` on ``new_data``; replace the bundle only if better."""
    bundle_dir = Path(bundle_dir)
    if epochs < 1:
        raise FullcycleError("--epochs must be 1 or more")
    constraints = parse_constraints(satisfice)
    split = split or SplitOptions()
    deadline = time.monotonic() + parse_duration(budget)
    old = Predictor.load(bundle_dir)
    bundle = old.bundle
    frame = load_table(new_data, name="new data")
    needed = [*old.preprocessor.used_columns, *old.target.targets]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise FullcycleError(f"{new_data} lacks column(s) {', '.join(missing)} that the model "
                             f"was trained with; give new data with the same columns")
    p = prepare(frame, list(old.target.targets), task=bundle.task, split=split,
                preprocessor=old.preprocessor, target_encoding=old.target)
    metric = _metric_name(bundle.metrics, p.task) or default_metric(p.task, p.y["train"])
    settings = {**previous_settings(bundle_dir), **({"lr": lr} if lr is not None else {})}
    run = RunDir(out or bundle_dir.resolve().parent / f"retrain-{_stamp()}")
    journal = run.journal
    config = {"bundle": str(bundle_dir), "new_data": str(new_data), "metric": metric,
              "epochs": epochs, "patience": patience, "budget": budget, **settings}
    run_id = journal.start_run("retrain", config)
    experiment_id = journal.start_experiment(run_id, "warm start", config, split.seed,
                                             p.fingerprint, REASON)

    old_metric, old_dev = split_error(p, bundle.model, metric, p.X["dev"], p.y["dev"])
    candidate = load_bundle(bundle_dir).model  # a second copy: the old model stays as it was
    start, stop = time.monotonic(), Deadline(deadline)
    try:
        result = fit(candidate, (p.X["train"], p.y["train"]), (p.X["dev"], p.y["dev"]),
                     loss=loss_for_task(p.task), optimizer=settings["optimizer"],
                     lr=float(settings["lr"]), schedule=settings["schedule"], epochs=epochs,
                     batch_size=int(settings["batch_size"]), l2=float(settings["l2"]),
                     early_stopping=patience, metric=metric, callbacks=[stop],
                     seed=split.seed, progress=progress, task=p.task,
                     journal=(journal, experiment_id))
        new_model, diverged = result.model.cpu().eval(), None
    except TrainingDiverged as exc:
        new_model, diverged = candidate.eval(), str(exc)
    seconds = time.monotonic() - start
    errors = {name: split_error(p, new_model, metric, p.X[name], p.y[name])[1]
              for name in ("train", "train_dev", "dev")}
    new_dev = float("inf") if diverged else float(errors["dev"])
    values = {"latency_ms": measure_latency_ms(new_model, p.preprocessor.n_features),
              "params": float(sum(t.numel() for t in new_model.parameters())),
              "train_seconds": seconds}
    broken = violations(constraints, values)
    better = new_dev < float(old_dev)
    replaced = better and not broken and replace
    reason = _reason(old_dev, new_dev, len(p.X["dev"]), broken, diverged, better, replace)

    chosen = new_model if replaced else bundle.model
    X_test, y_test = p.test("final estimate of the bundle kept after retraining")
    _, test_error = split_error(p, chosen, metric, X_test, y_test)
    candidate_dir = save_bundle(
        run.file("model"), new_model, bundle.preprocessing, p.task,
        {"metric": {"name": metric}, "errors": {**errors, "test": test_error if replaced
                                                else None}},
        bundle.input_schema, classes=bundle.classes, reference=p.frame_of("train"))
    archived = _swap(bundle_dir, candidate_dir) if replaced else None
    observed = {"old_dev_error": old_dev, "new_dev_error": None if diverged else new_dev,
                "dev_rows": len(p.X["dev"]), "metric": metric, "violations": broken}
    action = "replaced the bundle" if replaced else "kept the old bundle"
    journal.end_experiment(experiment_id, "diverged" if diverged else "finished",
                           {"errors": errors, **values}, kept=replaced)
    journal.log_decision(run_id, "retrain", observed, action, reason, experiment_id)
    journal.end_run(run_id, "finished")
    doc = {"replaced": replaced, "reason": reason, "action": action, "metric": metric,
           "old": {"dev_error": old_dev, "dev_metric": old_metric},
           "new": {"errors": errors, "diverged": diverged, **values,
                   "epochs_run": None if diverged else result.epochs_run,
                   "best_epoch": None if diverged else result.best_epoch},
           "test_error": test_error, "test_accesses": len(p.test_accesses),
           "splits": p.sizes(), "settings": settings, "bundle": str(bundle_dir),
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
