"""What one trial trains: the built-in `TabularMLP` with `fc.fit`, scored by its dev error.

A trial's config (what the space drew, over the user's `base_config`) becomes a network
`hidden_units × layers` with `dropout` per hidden layer, Adam with β1 from the space (or
the seeds' momentum with that β), the seeds' inverse-time decay `lr / (1 + decay · epoch)`,
L2 λ and the mini-batch size. After every epoch the dev error goes to the trial, so the
pruner can stop a hopeless trial early (`PruneCallback`). The value is the dev error of the
best epoch, whose weights the engine restores; the train error is kept beside it so the
report can diagnose the best trial (avoidable bias versus variance).

Errors are in the run's units: `1 − metric` for classification, RMSE in the target's own
units for regression (`Prepared.error_scale`), exactly as the rest of fullcycle reports.
"""

from __future__ import annotations

from typing import Any

import optuna

from fullcycle.engine.callbacks import TrainingDiverged
from fullcycle.engine.events import Callback
from fullcycle.errors import FullcycleError
from fullcycle.tuning.workers import TrialReport

#: What a trial uses where neither the space nor the base config says otherwise.
DEFAULTS: dict[str, Any] = {
    "optimizer": "adam",
    "lr": 1e-3,
    "beta1": 0.9,  # seed 000: Adam's β1 default
    "hidden_units": None,  # None: the seeds' midpoint width (models.mlp)
    "layers": 1,
    "batch_size": 64,
    "dropout": 0.0,
    "l2": 0.0,
    "lr_decay": 0.0,
    "epochs": 20,
    "activation": "relu",
    "batch_norm": False,
    "seed": 0,
}


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


def n_outputs(prepared: Any) -> int:
    """Output units for the task: one logit (binary, regression) or one per class / label."""
    if prepared.task in ("multiclass", "multilabel"):
        return len(prepared.classes)
    return 1


def optimizer_options(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The optimizer name and its options with β1 from the config.

    Adam's β1 (β2 stays at the seeds' 0.999), or the β of the seeds' momentum / RMSprop.
    """
    name = str(config["optimizer"]).lower()
    beta = float(config["beta1"])
    if name in ("adam", "adamw"):
        return name, {"betas": (beta, 0.999)}  # seed 000: β2 = 0.999
    if name in ("momentum", "rmsprop"):
        return name, {"beta": beta}
    if name == "sgd":
        return name, {}
    raise FullcycleError(
        f"optimizer {config['optimizer']!r} cannot be searched; use adam, adamw, momentum, "
        "rmsprop or sgd in the base config"
    )


def build_model(prepared: Any, config: dict[str, Any]) -> Any:
    """The trial's `TabularMLP`, output bias at the training prior."""
    from fullcycle.models.mlp import TabularMLP, init_output_bias

    layers = int(config["layers"])
    width = config["hidden_units"]
    hidden = None if width is None else [int(width)] * layers
    model = TabularMLP(
        prepared.X["train"].shape[1], n_outputs(prepared), hidden=hidden,
        activation=config["activation"], dropout=float(config["dropout"]),
        batch_norm=bool(config["batch_norm"]),
        categorical=getattr(prepared.preprocessor, "categorical", ()),
    )
    init_output_bias(model, prepared.task, prepared.y["train"])
    return model


def train_config(config: dict[str, Any], prepared: Any, *, report: TrialReport | None = None,
                 progress: bool = False) -> tuple[Any, dict[str, Any]]:
    """Train one configuration with `fc.fit`; returns (fit result, errors)."""
    from fullcycle.engine.evaluate import evaluate
    from fullcycle.engine.fit import fit
    from fullcycle.engine.losses import loss_for_task
    from fullcycle.metrics import default_metric

    cfg = {**DEFAULTS, **config}
    torch_seed = int(cfg["seed"])
    loss = loss_for_task(prepared.task)
    metric = default_metric(prepared.task, prepared.y["train"])
    scale = float(getattr(prepared, "error_scale", 1.0))
    import torch

    # Seed before building the network: its initial weights come from the global generator,
    # so the same config trains to the same model in a trial and in the re-train of the best.
    torch.manual_seed(torch_seed)
    model = build_model(prepared, cfg)
    callbacks = []
    pruning = PruneCallback(report, scale) if report is not None else None
    if pruning is not None:
        callbacks.append(pruning)
    decay = float(cfg["lr_decay"])
    schedule = {"name": "inverse_time", "params": {"decay_rate": decay}} if decay > 0 else None
    train = (prepared.X["train"], prepared.y["train"])
    dev = (prepared.X["dev"], prepared.y["dev"])
    optimizer, options = optimizer_options(cfg)
    try:
        result = fit(
            model, train, dev, loss=loss, optimizer=optimizer, optimizer_options=options,
            lr=float(cfg["lr"]), task=prepared.task,
            schedule=schedule, epochs=int(cfg["epochs"]), batch_size=int(cfg["batch_size"]),
            l2=float(cfg["l2"]), metric=metric, callbacks=callbacks, seed=torch_seed,
            progress=progress,
        )
    except TrainingDiverged as exc:
        # A rate or penalty that blows training up is a result, not a crash: the trial ends
        # as a bad (pruned) one and the search moves on.
        if report is not None:
            report.note(stopped="diverged (loss exploded even at lowered rates)",
                        error=" ".join(str(exc).split())[:300])
        raise optuna.TrialPruned(f"training diverged: {exc}") from exc
    if pruning is not None and pruning.pruned is not None:
        raise pruning.pruned
    dev_errors = {row["epoch"]: row.get("dev_error") for row in result.history}
    best = dev_errors.get(result.best_epoch)
    if best is None:
        finite = [v for v in dev_errors.values() if v is not None]
        best = min(finite) if finite else float("nan")
    def error_on(split: str) -> float | None:
        if len(prepared.y.get(split, ())) == 0:
            return None
        data = (prepared.X[split], prepared.y[split])
        return scale * float(evaluate(result.model, data, loss=loss, task=prepared.task,
                                      metric=metric)["error"])

    errors = {"dev_error": float(best) * scale, "train_error": error_on("train"),
              "train_dev_error": error_on("train_dev"), "best_epoch": result.best_epoch,
              "metric": metric}
    return result, errors


class TabularObjective:
    """The default objective: train `TabularMLP` on a prepared table, return the dev error.

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
        unknown = set(base_config or {}) - set(DEFAULTS)
        if unknown:
            raise FullcycleError(
                f"unknown base config key(s) {', '.join(sorted(unknown))}; known keys: "
                f"{', '.join(DEFAULTS)}"
            )
        optimizer_options({**DEFAULTS, **(base_config or {})})  # refuse a bad optimizer now
        self.prepared = prepared
        self.base_config = dict(base_config or {})
        self.progress = progress

    def __call__(self, config: dict[str, Any], report: TrialReport) -> float:
        _, errors = train_config({**self.base_config, **config}, self.prepared, report=report,
                                 progress=self.progress)
        report.note(**{k: v for k, v in errors.items() if k != "dev_error" and v is not None})
        return errors["dev_error"]
