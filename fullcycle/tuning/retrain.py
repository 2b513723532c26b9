"""Re-train the best configuration of a search and bundle it (`fullcycle search --retrain-best`).

The best trial is trained again with the same configuration and seed, so the bundle holds the
model whose dev error the search reported (the engine is deterministic on CPU for a fixed
seed); its train, train-dev and dev errors feed the diagnosis, which names the next move
(seed 002: avoidable bias first, then variance). The test split stays locked: the search
tuned on dev, and the one test evaluation belongs to the end of the project
(`fullcycle run`), not to a tuning step (seed 001: never tune on the test set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fullcycle.errors import FullcycleError
from fullcycle.tuning.objective import TabularObjective, train_trial
from fullcycle.tuning.results import SearchResult


def retrain_best(result: SearchResult, prepared: Any, out: str | Path, *,
                 base_config: dict[str, Any] | None = None, human_level_error: float = 0.0,
                 progress: bool = False) -> dict[str, Any]:
    """Train the best trial's configuration, write `model/` and the summary; returns the record."""
    from fullcycle.diagnosis.diagnosis import diagnose
    from fullcycle.models.bundle import save_bundle
    from fullcycle.rundir import RunDir

    if result.best is None:
        raise FullcycleError(
            "no trial of the search completed, so there is nothing to re-train; run more "
            "trials (--trials) or give a longer --budget"
        )
    config = {**(base_config or {}), **result.best["params"]}
    base = TabularObjective(prepared, base_config).base
    outcome = train_trial(result.best["params"], prepared, base, progress=progress)
    errors = {"train_error": outcome.errors["train"], "dev_error": outcome.dev_error,
              "train_dev_error": outcome.errors["train_dev"], "metric": outcome.metric,
              "best_epoch": outcome.best_epoch}
    train_dev_error = errors["train_dev_error"]
    found = diagnose(train_error=errors["train_error"], dev_error=errors["dev_error"],
                     human_level_error=human_level_error, train_dev_error=train_dev_error)
    run = RunDir(out)
    metrics = {"metric": errors["metric"], "train_error": errors["train_error"],
               "train_dev_error": train_dev_error, "dev_error": errors["dev_error"]}
    directory = run.file("model")
    save_bundle(directory, outcome.model,
                {"features": prepared.preprocessor.to_dict(),
                 "target": prepared.target_encoding.to_dict()},
                prepared.task, metrics, prepared.preprocessor.input_schema(),
                reference=prepared.frame_of("train"))
    record = {"trial": result.best["number"], "config": config, **metrics,
              "search_dev_error": result.best["dev_error"], "best_epoch": errors["best_epoch"],
              "diagnosis": found.to_dict(), "bundle": str(directory)}
    summary = run.read_json("summary.json") if run.has("summary.json") else {}
    section = dict(summary.get("search", {}))
    section["retrained"] = record
    run.update_summary(search=section)
    return record
