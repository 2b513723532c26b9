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
    frame = pd.DataFrame({"row": p.rows["dev"]})
    frame = _with_inputs(frame, p)
    if p.task == "regression":
        pred = outputs.numpy().reshape(-1) * p.target_std + p.target_mean
        frame["y_true"] = p.y["dev"] * p.target_std + p.target_mean
        frame["y_pred"] = pred
        return frame, pred
    proba = probabilities(p.task, outputs)
    if p.task == "binary":
        proba = np.column_stack([1 - proba, proba])
    if p.task == "multilabel":
        for j, label in enumerate(p.classes):
            frame[f"y_true_{label}"] = p.y["dev"][:, j]
            frame[f"proba_{label}"] = proba[:, j]
        return frame, proba
    frame["y_true"] = [p.classes[int(c)] for c in p.y["dev"]]
    frame["y_pred"] = [p.classes[int(c)] for c in proba.argmax(axis=1)]
    for j, label in enumerate(p.classes):
        frame[f"proba_{label}"] = proba[:, j]
    return frame, proba


def _with_inputs(frame: pd.DataFrame, p: Any) -> pd.DataFrame:
    """The dev rows' raw input columns as `input.<col>`, so `fullcycle errors` can slice
    them even when the data came from a DataFrame or --dev-data."""
    inputs = p.frame_of("dev")[p.features].reset_index(drop=True)
    inputs.columns = [f"input.{c}" for c in inputs.columns]
    return pd.concat([frame, inputs], axis=1)


def run_error_analysis(pilot: Autopilot, best: Outcome, proba: np.ndarray) -> dict | None:
    """Confusion, slices, highest-loss rows and suspected label errors on dev; errors.csv."""
    from fullcycle.analysis.errors import error_analysis, write_errors_csv

    p = pilot.p
    features = p.frame_of("dev")[p.features].reset_index(drop=True)
    if p.is_images:  # slices by what a person sees: dark, washed-out pictures
        from fullcycle.analysis.pictures import describe_pictures

        features = pd.concat([features, describe_pictures(p.X["dev"])], axis=1)
    if p.task == "regression":
        y_true = p.y["dev"] * p.target_std + p.target_mean
    elif p.task == "multilabel":
        y_true = p.y["dev"]
    else:
        y_true = p.y["dev"].astype(int)
    analysis = error_analysis(y_true, proba, task=p.task,
                              classes=list(map(str, p.classes)) if p.classes else None,
                              features=features, rows=p.rows["dev"], seed=pilot.seed)
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
                p.task, metrics, p.preprocessor.input_schema())
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
        "human_level_error": pilot.human,
        "baselines": pilot.sections.get("baselines", []),
        "diagnosis": found.to_dict(),
        "recommendations": recommendations,
        "experiments": pilot.experiments,
        "chosen": {"config": best.config.to_dict(), "description": best.config.describe(),
                   "experiment_id": best.experiment_id, "params": best.n_parameters,
                   "latency_ms": best.latency_ms},
        "test_accesses": len(p.test_accesses),
        "test_access_reasons": list(p.test_accesses),
        "splits": p.sizes(),
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
