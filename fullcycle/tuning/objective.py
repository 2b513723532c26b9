"""What one trial trains: the built-in network through `fc.train`, scored by its dev error.

A trial's values (what the space drew) are turned into one `TrainConfig` over the user's
base config by `trial_config`, the one translation from search keys to knobs:
`hidden_units × layers` hidden layers, `dropout` on every hidden layer, `lr_decay` as the
seeds' inverse-time decay `lr / (1 + decay · epoch)`, `l2_per_example` as λ/m (so
λ = value × m, the convention of `fullcycle.tuning.space`), and every other key a
`TrainConfig` field (`lr`, `beta1`, `batch_size`, `epochs`, `optimizer`, ...). After every
epoch the dev error goes to the trial, so the pruner can stop a hopeless trial early
(`PruneCallback`). The value is the dev error of the best epoch, whose weights the engine
restores; the train error is kept beside it so the report can diagnose the best trial.

Errors are in the run's units: `1 − metric` for classification, RMSE in the target's own
units for regression, exactly as the rest of fullcycle reports.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import optuna

from fullcycle.engine.events import Callback
from fullcycle.errors import FullcycleError
from fullcycle.recipe.config import TrainConfig
from fullcycle.tuning.workers import TrialReport

#: Search keys that are not `TrainConfig` fields, and what they become (see the docstring).
SEARCH_KEYS = ("hidden_units", "layers", "dropout", "lr_decay", "l2_per_example")
OPTIMIZERS = ("adam", "adamw", "momentum", "rmsprop", "sgd")


def trial_config(values: dict[str, Any], base: TrainConfig | None = None, *,
                 n_train: int, first_hidden: int) -> TrainConfig:
    """The `TrainConfig` a trial trains: `values` (search keys or fields) over `base`.

    `first_hidden` is the width used when only the depth is drawn and the base leaves the
    width to the seeds' rule; `n_train` turns λ/m into λ.
    """
    base = base or TrainConfig()
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(values) - known - set(SEARCH_KEYS)
    if unknown:
        raise FullcycleError(
            f"unknown search or training key(s) {', '.join(sorted(unknown))}; known: "
            f"{', '.join(sorted(known | set(SEARCH_KEYS)))}"
        )
    values = dict(values)
    changes = {k: values.pop(k) for k in list(values) if k in known and k != "dropout"}
    hidden = changes.pop("hidden", base.hidden)
    width = values.pop("hidden_units", None)
    layers = values.pop("layers", None)
    if width is not None or layers is not None:
        current = tuple(hidden) if hidden else (first_hidden,)
        width = int(width) if width is not None else current[0]
        hidden = (width,) * int(layers if layers is not None else len(current))
    changes["hidden"] = None if hidden is None else tuple(hidden)
    if "dropout" in values:
        rate = values.pop("dropout")
        n_layers = len(changes["hidden"] or (first_hidden,))
        changes["dropout"] = ((float(rate),) * n_layers if isinstance(rate, int | float)
                              else tuple(rate))
    if "lr_decay" in values:
        decay = float(values.pop("lr_decay"))
        changes["schedule"] = f"inverse_time:decay_rate={decay:.6g}" if decay > 0 else None
    if "l2_per_example" in values:
        changes["l2"] = float(values.pop("l2_per_example")) * max(1, n_train)
    optimizer = str(changes.get("optimizer", base.optimizer)).lower()
    if optimizer not in OPTIMIZERS:
        raise FullcycleError(f"optimizer {optimizer!r} cannot be searched; use "
                             f"{', '.join(OPTIMIZERS)} in the base config")
    return TrainConfig.from_dict({**base.to_dict(), **changes})


class PruneCallback(Callback):
    """Engine callback: report each epoch's dev error to the trial; stop when it is pruned.

    Stopping goes through `loop.stop_training` rather than an exception out of the loop,
    so the engine ends the fit cleanly; the objective re-raises the pruning afterwards.
    """

    order = 90  # after the loop's own bookkeeping of the epoch

    def __init__(self, report: TrialReport, scale: float = 1.0) -> None:
        self.report = report
        self.scale = scale
        self.pruned: optuna.TrialPruned | None = None

    def after_epoch(self, loop: Any) -> None:
        error = loop.logs.get("dev_error")
        if error is None:
            return
        try:
            self.report.epoch(int(loop.epoch), float(error) * self.scale)
        except optuna.TrialPruned as exc:
            self.pruned = exc
            loop.stop_training = True


def train_trial(values: dict[str, Any], prepared: Any, base: TrainConfig | None = None, *,
                report: TrialReport | None = None, progress: bool = False) -> Any:
    """Train one trial's configuration with `fc.train`; returns the `Outcome`.

    A diverged fit ends as a pruned trial (a rate or penalty that blows training up is a
    result, not a crash); a pruned one re-raises the pruning after the engine ended cleanly.
    """
    from fullcycle.recipe.trainer import first_hidden, train

    config = trial_config(values, base, n_train=len(prepared.X["train"]),
                          first_hidden=first_hidden(prepared))
    pruning = PruneCallback(report, float(getattr(prepared, "error_scale", 1.0))) \
        if report is not None else None
    outcome = train(prepared, config, callbacks=[pruning] if pruning else (),
                    progress=progress)
    if outcome.diverged:
        if report is not None:
            report.note(stopped="diverged (loss exploded even at lowered rates)",
                        error=" ".join(outcome.diverged.split())[:300])
        raise optuna.TrialPruned(f"training diverged: {outcome.diverged}")
    if pruning is not None and pruning.pruned is not None:
        raise pruning.pruned
    return outcome


class TabularObjective:
    """The default objective: train the built-in net on a prepared table, return dev error.

    Picklable (it holds the prepared data and the base config only), so K worker
    processes can each run it.
    """

    def __init__(self, prepared: Any, base_config: dict[str, Any] | None = None,
                 progress: bool = False) -> None:
        if prepared is None:
            raise FullcycleError(
                "the search needs data to train on; pass prepared data (fc.prepare) or an "
                "objective of your own"
            )
        from fullcycle.recipe.trainer import first_hidden

        # refuse unknown keys and a bad optimizer now, not in the first trial
        self.base = trial_config(base_config or {}, n_train=len(prepared.X["train"]),
                                 first_hidden=first_hidden(prepared))
        self.prepared = prepared
        self.progress = progress

    def __call__(self, config: dict[str, Any], report: TrialReport) -> float:
        outcome = train_trial(config, self.prepared, self.base, report=report,
                              progress=self.progress)
        report.note(train_error=outcome.errors["train"], best_epoch=outcome.best_epoch,
                    metric=outcome.metric, **({"train_dev_error": outcome.errors["train_dev"]}
                                              if outcome.errors["train_dev"] is not None
                                              else {}))
        return outcome.dev_error
