"""What a run leaves behind: summary.json, the model bundle, dev predictions, error
analysis and the report (the contract in docs/ARCHITECTURE.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fullcycle.diagnosis.diagnosis import Diagnosis
from fullcycle.metrics import probabilities
from fullcycle.recipe import steps
from fullcycle.recipe.trainer import Outcome
from fullcycle.rundir import atomic_write_text

if TYPE_CHECKING:
    from fullcycle.recipe.autopilot import Autopilot

PREDICTIONS_FILE = "dev_predictions.csv"


def dev_predictions(pilot: Autopilot, best: Outcome) -> tuple[pd.DataFrame, np.ndarray]:
    """Dev rows with the true label and the model's probabilities (or predicted values)."""
    p = pilot.p
    outputs = steps.predict_outputs(best.model, p.X["dev"])
    columns: dict[str, Any] = {"row": p.rows["dev"]}  # built whole, then framed once:
    # inserting columns one by one into a wide frame fragments it (pandas warns)
    if p.task == "multitask":
        return _multitask_predictions(columns, p, outputs.numpy())
    if p.task == "regression":
        pred = outputs.numpy().reshape(-1) * p.target_std + p.target_mean
        columns["y_true"] = p.y["dev"] * p.target_std + p.target_mean
        columns["y_pred"] = pred
        return _with_inputs(columns, p), pred
    proba = probabilities(p.task, outputs)
    if p.task == "binary":
        proba = np.column_stack([1 - proba, proba])
    if p.task == "multilabel":
        for j, label in enumerate(p.classes):
            columns[f"y_true_{label}"] = p.y["dev"][:, j]
            columns[f"proba_{label}"] = proba[:, j]
        return _with_inputs(columns, p), proba
    chosen = ((proba[:, 1] >= p.target_encoding.threshold).astype(int) if p.task == "binary"
              else proba.argmax(axis=1))
    columns["y_true"] = [p.classes[int(c)] for c in p.y["dev"]]
    columns["y_pred"] = [p.classes[int(c)] for c in chosen]
    for j, label in enumerate(p.classes):
        columns[f"proba_{label}"] = proba[:, j]
    return _with_inputs(columns, p), proba


def _multitask_predictions(columns: dict[str, Any], p: Any, outputs: np.ndarray
                           ) -> tuple[pd.DataFrame, np.ndarray]:
    """Per task: ``y_true_<target>`` (blank where unlabelled), ``y_pred_<target>`` and, for
    classes, ``proba_<target>_<class>``; returns the raw outputs for error analysis."""
    from fullcycle.analysis.multitask import head_predictions
    from fullcycle.data.task import head_slices

    y = p.y["dev"]
    for j, (head, where) in enumerate(zip(p.heads, head_slices(p.heads), strict=True)):
        enc = p.target_encoding.heads[j]
        pred = head_predictions(head, outputs[:, where], enc["mean"], enc["std"])
        known = ~np.isnan(y[:, j])
        if head.task == "regression":
            columns[f"y_true_{head.name}"] = np.where(known, y[:, j] * enc["std"] + enc["mean"],
                                                    np.nan)
            columns[f"y_pred_{head.name}"] = pred
            continue
        classes = list(head.classes)
        proba = np.column_stack([1 - pred, pred]) if head.task == "binary" else pred
        columns[f"y_true_{head.name}"] = [classes[int(c)] if k else None
                                        for c, k in zip(np.nan_to_num(y[:, j]), known,
                                                        strict=True)]
        columns[f"y_pred_{head.name}"] = [classes[int(i)] for i in proba.argmax(axis=1)]
        for c, label in enumerate(classes):
            columns[f"proba_{head.name}_{label}"] = proba[:, c]
    return _with_inputs(columns, p), outputs


def task_sections(pilot: Autopilot, best: Outcome) -> dict:
    """Multitask: each task's errors per split and its own diagnosis, beside the overall."""
    from fullcycle.diagnosis.diagnosis import DEFAULT_TOLERANCE, diagnose, noise_tolerance
    from fullcycle.metrics import task_errors
    from fullcycle.recipe.trainer import head_metrics, head_specs

    p = pilot.p
    names = head_metrics(p)
    per_split = {}
    for split in ("train", "train_dev", "dev"):
        if len(p.X[split]) == 0:
            continue
        outputs = steps.predict_outputs(best.model, p.X[split])
        per_split[split] = task_errors(head_specs(p), outputs, p.y[split], names)["per_head"]
    test = (pilot.sections.get("task_test") or {}).get("test")
    tasks = {}
    for j, head in enumerate(p.heads):
        scale = p.target_encoding.heads[j]["std"] if head.task == "regression" else 1.0
        errors = {s: (None if v[j] is None else v[j] * scale) for s, v in per_split.items()}
        errors["test"] = None if not test or test[j] is None else test[j] * scale
        # per-task human-level error is unknown (the flag is the overall one): 0, a bound
        tolerance = DEFAULT_TOLERANCE if pilot.tolerance is None else pilot.tolerance
        if pilot.tolerance is None and errors["dev"] is not None:  # this task's dev noise
            n_dev = int((~np.isnan(np.asarray(p.y["dev"], dtype=np.float64)[:, j])).sum())
            tolerance = noise_tolerance(names[j], errors["dev"], n_dev)
        found = diagnose(errors["train"], errors["dev"], 0.0,
                         errors.get("train_dev"), errors["test"], tolerance=tolerance)
        tasks[head.name] = {"task": head.task, "metric": names[j], "errors": errors,
                            "diagnosis": found.to_dict()}
    return tasks


def _with_inputs(columns: dict[str, Any], p: Any) -> pd.DataFrame:
    """``row``, the dev rows' raw input columns as `input.<col>` (so `fullcycle errors` can
    slice them even when the data came from a DataFrame or --dev-data), then ``columns``."""
    inputs = p.frame_of("dev")[p.features].reset_index(drop=True)
    inputs.columns = [f"input.{c}" for c in inputs.columns]
    row = pd.DataFrame({"row": columns.pop("row")})
    return pd.concat([row, inputs, pd.DataFrame(columns)], axis=1)


def run_error_analysis(pilot: Autopilot, best: Outcome, proba: np.ndarray) -> dict | None:
    """Confusion, slices, highest-loss rows and suspected label errors on dev; errors.csv."""
    from fullcycle.analysis.errors import error_analysis, write_errors_csv

    p = pilot.p
    features = p.frame_of("dev")[p.features].reset_index(drop=True)
    if p.is_images:  # slices by what a person sees: dark, washed-out pictures
        from fullcycle.analysis.pictures import describe_pictures

        features = pd.concat([features, describe_pictures(p.X["dev"])], axis=1)
    if p.task == "multitask":
        from fullcycle.analysis.multitask import multitask_analysis

        doc, combined = multitask_analysis(p.heads, p.target_encoding.heads, p.y["dev"], proba,
                                           features=features, rows=p.rows["dev"],
                                           text_columns=p.text_columns, seed=pilot.seed)
        write_errors_csv(combined, pilot.rundir.file("errors.csv"))
        return doc
    if p.task == "regression":
        y_true = p.y["dev"] * p.target_std + p.target_mean
    elif p.task == "multilabel":
        y_true = p.y["dev"]
    else:
        y_true = p.y["dev"].astype(int)
    analysis = error_analysis(y_true, proba, task=p.task,
                              classes=list(map(str, p.classes)) if p.classes else None,
                              features=features, rows=p.rows["dev"], seed=pilot.seed,
                              text_columns=p.text_columns,
                              threshold=p.target_encoding.threshold)
    write_errors_csv(analysis, pilot.rundir.file("errors.csv"))
    return analysis.to_dict()


def picture_gallery(pilot: Autopilot, best: Outcome, analysis: dict | None) -> dict:
    """Thumbnails of the worst dev pictures and suspected label errors, the augmentation
    grid (`fullcycle.analysis.pictures`)."""
    from fullcycle.analysis.pictures import write_gallery
    from fullcycle.engine.augment import AUGMENTATIONS

    p = pilot.p
    kinds = tuple(k for k in AUGMENTATIONS if k != "color" or p.preprocessor.channels == 3)
    used = best.config.images.augment if best.config.images is not None else ()
    return write_gallery(pilot.rundir.path, p.X["dev"], p.rows["dev"], analysis or {},
                         p.frame[p.features[0]].to_numpy(), p.X["train"], kinds, used,
                         seed=pilot.seed)


def save_model_bundle(pilot: Autopilot, best: Outcome, metrics: dict) -> str:
    from fullcycle.models.bundle import save_bundle

    p = pilot.p
    directory = pilot.rundir.file("model")
    save_bundle(directory, best.model,
                {"features": p.preprocessor.to_dict(), "target": p.target_encoding.to_dict()},
                p.task, metrics, p.preprocessor.input_schema(), reference=p.frame_of("train"))
    return str(directory)


def write_outputs(pilot: Autopilot, best: Outcome, found: Diagnosis, test_value: float,
                  test_error: float, recommendations: list[str]) -> dict:
    """Write every file of the run directory and return the summary."""
    p = pilot.p
    frame, proba = dev_predictions(pilot, best)
    atomic_write_text(pilot.rundir.file(PREDICTIONS_FILE), frame.to_csv(index=False))
    errors = {**best.errors, "test": test_error}
    metric_doc = {"name": pilot.metric, **best.metrics, "test": test_value}
    summary: dict[str, Any] = {
        "task": p.task,
        "targets": p.targets,
        "classes": p.classes,
        "metric": metric_doc,
        "errors": errors,
        "human_level_error": pilot.user_human,
        "bayes_proxy": {"value": pilot.human,
                        "source": pilot.proxy or ("human-level error" if pilot.user_human
                                                  is not None else "none (0)"),
                        "bound": pilot.proxy is not None},
        "baselines": pilot.sections.get("baselines", []),
        "diagnosis": found.to_dict(),
        "recommendations": recommendations,
        "experiments": pilot.experiments,
        "satisficing": _satisficing(pilot, best),
        "chosen": {"config": best.config.to_dict(), "description": best.config.describe(),
                   "experiment_id": best.experiment_id, "params": best.n_parameters,
                   "latency_ms": best.latency_ms},
        "test_accesses": p.test_accesses,
        "test_access_reasons": list(p.test_access_reasons),
        "splits": p.sizes,
        "split_strategy": p.split.strategy,
        "duplicates_across_splits": p.duplicates["count"],
        "class_balance": p.class_balance(),
        "profile": _profile(p),
        "notes": p.notes + p.split.notes + p.preprocessor.notes,
        **({"images": _images_section(p.images)} if p.is_images else {}),
        "decisions": [d.to_dict() for d in pilot.decisions],
        **{k: v for k, v in pilot.sections.items() if k not in ("baselines",)},
        "budget": pilot.budget.seconds,
    }
    if p.task == "multitask":
        summary["tasks"] = task_sections(pilot, best)
    summary["error_analysis"] = _optional("error analysis", summary,
                                          lambda: run_error_analysis(pilot, best, proba))
    if p.is_images:
        summary["pictures"] = _optional("picture gallery", summary, lambda: picture_gallery(
            pilot, best, summary["error_analysis"]))
    summary["model"] = save_model_bundle(pilot, best, {"metric": metric_doc, "errors": errors})
    pilot.rundir.write_json("summary.json", summary)
    summary["report"] = _optional("report", summary, lambda: _report(pilot))
    if summary["report"]:
        pilot.rundir.update_summary(report=summary["report"])
    return summary


def _satisficing(pilot: Autopilot, best: Outcome) -> dict:
    """Whether the shipped model meets every `--satisfice` constraint, said at the top."""
    constraints = [str(c) for c in pilot.constraints]
    broken = next((e["violations"] for e in pilot.experiments
                   if e["id"] == best.experiment_id), [])
    met = not broken
    return {"constraints": constraints, "met": met, "violations": broken,
            "message": None if met else
            f"no candidate met the satisficing constraints ({'; '.join(broken)}); the model "
            "shipped breaks them: relax --satisfice or change the architecture"}


def _optional(what: str, summary: dict, step: Any) -> Any:
    """Run a step that reads the trained model; if it fails, the run keeps its model and
    summary and says what failed (a bug there must not cost the user the training)."""
    try:
        return step()
    except Exception as exc:  # noqa: BLE001 - reported in the summary, never silent
        summary.setdefault("notes", []).append(f"{what} failed: {type(exc).__name__}: {exc}")
        return None


def _images_section(images: dict) -> dict:
    """The pictures' layout, size, channels and statistics; unreadable files listed (20)."""
    unreadable = list(images.get("unreadable") or [])
    return {**images, "unreadable": unreadable[:20], "n_unreadable": len(unreadable)}


def _profile(p: Any) -> dict:
    from fullcycle.data.profile import profile_table

    return profile_table(p.frame, p.targets)


def _report(pilot: Autopilot) -> str | None:
    from fullcycle.report.build import build_report

    return str(build_report(pilot.rundir.path))
