"""The recipe's measuring steps before and around training, each bounded in time.

Baselines, sanity checks, the LR finder and the learning curve: each returns plain,
JSON-able results plus a `Decision` saying what it means for the run.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from fullcycle.checks.lr_finder import IMPLAUSIBLE_LR
from fullcycle.data.dataset import Prepared
from fullcycle.diagnosis.baselines import baselines
from fullcycle.diagnosis.learning_curves import learning_curve
from fullcycle.engine.device import cpu_threads
from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.moves import Decision
from fullcycle.recipe.trainer import (
    Outcome,
    build_model,
    head_metrics,
    head_specs,
    loss_for,
    split_error,
    split_errors,
    train,
)

DEFAULT_LR = 1e-3
# The range of Adam rates the autopilot accepts from the LR finder. The finder measures a
# short sweep on the initial network; rates outside this range rarely survive the wider and
# deeper networks the recipe moves to (Adam's default is 1e-3, seed 003).
ADAM_LR_RANGE = (3e-4, 3e-2)


def run_baselines(prepared: Prepared, metric: str, seed: int) -> tuple[list[dict], Decision]:
    """Majority / mean and a linear model, errors in the target's units (seed 001 step 2)."""
    pre = prepared.preprocessor
    texts = ({name: prepared.frame_of(name)[prepared.text_columns]
              for name in ("train", "train_dev", "dev")} if pre.text_columns else None)
    multitask = prepared.task == "multitask"
    if prepared.is_images:  # pictures: a linear model on 8×8 thumbnails (recipe/images)
        from fullcycle.recipe.images import image_baselines

        rows = image_baselines(prepared, metric, seed)
    else:
        rows = baselines(prepared.task, prepared.X["train"], prepared.y["train"],
                         prepared.X["dev"], prepared.y["dev"], None if multitask else metric,
                         categorical=pre.categorical, seed=seed,
                         text_start=pre.n_tabular if pre.text_columns else None, texts=texts,
                         heads=head_specs(prepared),
                         head_metrics=head_metrics(prepared) if multitask else ())
    if metric in ("rmse", "mae"):
        for row in rows:
            row["train_error"] *= prepared.error_scale
            row["dev_error"] *= prepared.error_scale
    best = min(rows, key=lambda r: r["dev_error"])
    observed = {r["name"]: r["dev_error"] for r in rows}
    action = f"floor set: best simple model is {best['name']} (dev error {best['dev_error']:.4g})"
    leaks = [] if prepared.is_images else _leaks(prepared, seed)
    if leaks:  # a note for the summary and the report, and said at once on the console
        observed["single_column_leaks"] = [leak.source for leak in leaks]
        lines = [leak.line(prepared.task) for leak in leaks]
        prepared.notes.extend(line for line in lines if line not in prepared.notes)
        action += "; " + "; ".join(lines)
    decision = Decision(
        "baselines", observed, action,
        "every later number is compared with a simple baseline first (seed 001, step 2)")
    return rows, decision


def _leaks(prepared: Prepared, seed: int) -> list:
    """Input columns that alone predict the target almost perfectly (`diagnosis.leakage`)."""
    from fullcycle.diagnosis.leakage import single_column_leaks

    pre = prepared.preprocessor
    names = pre.feature_names[: pre.n_tabular]
    dates = {f"{d.name}.": d.name for d in pre.dates}
    sources = []
    for name in names:
        base = name.removesuffix("__missing")
        sources.append(next((column for prefix, column in dates.items()
                             if base.startswith(prefix)), base))
    return single_column_leaks(prepared.task, prepared.X["train"][:, : pre.n_tabular],
                               prepared.y["train"], prepared.X["dev"][:, : pre.n_tabular],
                               prepared.y["dev"], names, sources, seed=seed)


def run_sanity_checks(prepared: Prepared, config: TrainConfig, seed: int
                      ) -> tuple[list[dict], Decision]:
    """The sanity-check suite on the initial network, LR finder included (seed 001 step 4)."""
    from fullcycle.checks.suite import run_checks

    model = build_model(prepared, config)
    data, options = (prepared.X["train"], prepared.y["train"]), {"batch_size": config.batch_size}
    if prepared.is_images:  # pictures: a decoded sample; a CNN's steps cost more (recipe/images)
        from fullcycle.recipe.images import CHECK_OPTIONS, check_sample

        data, options = check_sample(prepared, seed), CHECK_OPTIONS
    with cpu_threads(1):  # tiny batches: one thread is faster (engine.device)
        # the initial-loss check knows single tasks; a multitask net starts at each head's
        # prior by construction (`prior_bias`), so it is skipped there, and said so
        results = run_checks(model, data, loss=loss_for(prepared),
                             task=None if prepared.task == "multitask" else prepared.task,
                             seed=seed, **options,
                             skip=("init_loss",) if prepared.task == "multitask" else ())
    rows = [r.to_dict() for r in results]
    failed = [r["name"] for r in rows if r["status"] == "fail"]
    warned = [r["name"] for r in rows if r["status"] == "warn"]
    action = ("all checks pass" if not failed and not warned else
              f"failed: {', '.join(failed) or '-'}; warnings: {', '.join(warned) or '-'}")
    return rows, Decision("checks", {r["name"]: r["status"] for r in rows}, action,
                          "sanity checks before spending compute (seed 001, step 4)")


def choose_lr(checks: list[dict]) -> tuple[dict | None, float, Decision]:
    """The LR finder's curve (from the checks) and the rate the autopilot starts with."""
    found = next((r for r in checks if r["name"] == "lr_finder"), None)
    details = (found or {}).get("details") or {}
    suggested = details.get("suggested_lr")
    curve = ({"lrs": details.get("lrs", []), "losses": details.get("losses", []),
              "suggested_lr": suggested} if details else None)
    if (suggested is None or not math.isfinite(suggested) or suggested <= 0
            or suggested < IMPLAUSIBLE_LR):
        return curve, DEFAULT_LR, Decision(
            "lr_finder", {"suggested_lr": suggested}, f"use lr {DEFAULT_LR:g}",
            "the LR finder gave no usable suggestion (none, or implausibly low from a flat or "
            "noisy sweep); Adam's default rate is a safe start")
    low, high = ADAM_LR_RANGE
    chosen = float(min(high, max(low, suggested)))
    reason = "a little to the right of the steepest descent of the smoothed loss (seed 001)"
    if chosen != suggested:
        reason += (f"; the suggestion {suggested:.3g} is clipped to Adam's working range "
                   f"[{low:g}, {high:g}]")
    if curve is not None:
        curve["chosen_lr"] = chosen
    return curve, chosen, Decision("lr_finder", {"suggested_lr": suggested},
                                   f"use lr {chosen:.3g}", reason)


def run_learning_curve(prepared: Prepared, config: TrainConfig, metric: str,
                       seconds: float, human_level_error: float, tolerance: float
                       ) -> tuple[dict | None, Decision | None]:
    """Dev and train error at growing training-set sizes, within `seconds`."""
    if seconds < 1.0 or len(prepared.X["train"]) < 80:
        return None, None
    deadline_at = time.monotonic() + seconds
    short = config.with_changes(epochs=max(5, config.epochs // 2))

    # pictures are decoded on demand: the curve draws row numbers, which pick the pictures
    X_all = (np.arange(len(prepared.X["train"])) if prepared.is_images
             else prepared.X["train"])

    def train_fn(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        share = max(1.0, deadline_at - time.monotonic()) / 2
        X = prepared.X["train"][X] if prepared.is_images else X
        outcome = train(prepared, short, metric=metric, deadline=time.monotonic() + share,
                        train_data=(X, y))
        return float(outcome.errors["train"]), float(outcome.errors["dev"])

    curve = learning_curve(train_fn, X_all, prepared.y["train"],
                           budget=seconds, seed=config.seed,
                           human_level_error=human_level_error, tolerance=tolerance)
    data = curve.to_dict()
    return data, Decision("learning_curve", {"sizes": data["sizes"],
                                             "dev_errors": data["dev_errors"]},
                          "more data would help" if curve.more_data_helps
                          else "undetermined: one size" if curve.more_data_helps is None
                          else "more data is unlikely to help much", curve.verdict)


def predict_outputs(model: torch.nn.Module, X: np.ndarray) -> torch.Tensor:
    from fullcycle.recipe.images import outputs_of  # a matrix at once, pictures by batches

    return outputs_of(model, X)


# Fewer positives than this on dev and a threshold chosen there follows a handful of rows.
MIN_POSITIVES_FOR_THRESHOLD = 20


def choose_threshold(prepared: Prepared, best: Outcome, metric: str
                     ) -> tuple[dict | None, Decision | None]:
    """For a binary target scored by F1: the decision threshold that maximizes dev F1.

    Set on the prepared target encoding (the bundle, predict and serve carry it) and the
    best outcome's errors measured again with it. Chosen on dev like every other choice, so
    the dev error is optimistic by that much; the test split, evaluated after, is not.
    """
    from fullcycle.metrics import best_f1_threshold, probabilities

    if prepared.task != "binary" or metric != "f1" or prepared.is_images:
        return None, None
    y = prepared.y["dev"].astype(int)
    positives = int(y.sum())
    before = best.errors.get("dev")
    if positives < MIN_POSITIVES_FOR_THRESHOLD:
        return None, Decision(
            "decision_threshold", {"dev_positives": positives}, "keep threshold 0.5",
            f"only {positives} positive dev rows: a threshold chosen on them would follow "
            f"noise (at least {MIN_POSITIVES_FOR_THRESHOLD} wanted)")
    proba = probabilities("binary", predict_outputs(best.model, prepared.X["dev"]))
    threshold = best_f1_threshold(proba, y)
    if threshold == 0.5:
        return None, None
    prepared.target_encoding.threshold = threshold
    best.errors, best.metrics = split_errors(prepared, best.model, metric)
    section = {"value": threshold, "chosen_on": "dev", "dev_error_at_0.5": before,
               "dev_error": best.errors.get("dev"), "dev_positives": positives}
    return section, Decision(
        "decision_threshold", {k: v for k, v in section.items() if k != "chosen_on"},
        f"predict '{prepared.classes[1]}' from probability {threshold:.3g} (not 0.5): dev error "
        f"{before:.4g} → {best.errors.get('dev'):.4g}",
        "F1 counts a missed positive and a false alarm alike, so with a rare class 0.5 is too "
        "strict; chosen on dev (optimistic there), measured once on test (AutoGluon and "
        "scikit-learn's TunedThresholdClassifierCV calibrate it the same way)")


def test_error(prepared: Prepared, model: torch.nn.Module, metric: str,
               per_task: dict | None = None) -> tuple[float, float]:
    """The one access to the locked test split (seed 003: one unbiased final estimate).

    A multitask run's per-task test errors come from the same access, into `per_task`."""
    X, y = prepared.test("final evaluation of the chosen model")
    value, error = split_error(prepared, model, metric, X, y)
    if per_task is not None and prepared.task == "multitask":
        from fullcycle.metrics import task_errors

        per_task["test"] = task_errors(head_specs(prepared), predict_outputs(model, X), y,
                                       head_metrics(prepared))["per_head"]
    return float(value), float(error)


def describe(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
