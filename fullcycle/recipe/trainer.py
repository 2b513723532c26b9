"""Train one configuration of the built-in network and measure it on every split.

The recipe's unit of work: build the network a `TrainConfig` describes (output bias at the
class prior or target mean), train it with `fc.fit` under a deadline, and return its errors
on train, train-dev and dev in the units the diagnosis subtracts (1 − accuracy, 1 − F1,
RMSE in the target's own units).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from fullcycle.data.dataset import Prepared
from fullcycle.engine.callbacks import TrainingDiverged
from fullcycle.engine.events import Callback
from fullcycle.engine.fit import fit
from fullcycle.engine.losses import loss_for_task
from fullcycle.journal import Journal
from fullcycle.metrics import compute_metric, error_from_metric
from fullcycle.models.mlp import TabularMLP, init_output_bias
from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.images import example_input, outputs_of


@dataclass
class Outcome:
    """A trained experiment: the model, its errors per split, and what it cost."""

    config: TrainConfig
    model: torch.nn.Module
    errors: dict[str, float | None]
    metrics: dict[str, float | None]
    history: list[dict]
    seconds: float
    best_epoch: int | None
    n_parameters: int
    latency_ms: float
    experiment_id: int | None = None
    stopped_by_deadline: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dev_error(self) -> float:
        return float(self.errors["dev"])


class Deadline(Callback):
    """Stops training when the run's time budget for this experiment is spent."""

    order = -100

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.hit = False

    def after_batch(self, loop: Any) -> None:
        if time.monotonic() > self.deadline:
            self.hit = True
            loop.stop_training = True

    def after_epoch(self, loop: Any) -> None:
        self.after_batch(loop)


def n_outputs(prepared: Prepared) -> int:
    if prepared.task == "multiclass":
        return len(prepared.classes)
    if prepared.task == "multilabel":
        return len(prepared.targets)
    return 1


def build_model(prepared: Prepared, config: TrainConfig) -> torch.nn.Module:
    """The network `config` describes, starting at the prior (seed-independent bias init)."""
    if config.images is not None:  # pictures: a ResNet, or a transferred network
        from fullcycle.recipe.images import build_image_model

        return build_image_model(prepared, config)
    torch.manual_seed(config.seed)
    model = TabularMLP(
        n_inputs=prepared.preprocessor.n_features, n_outputs=n_outputs(prepared),
        hidden=list(config.hidden), activation=config.activation,
        dropout=config.dropout_per_layer(), batch_norm=config.batch_norm,
        categorical=prepared.preprocessor.categorical,
    )
    init_output_bias(model, prepared.task, prepared.y["train"])
    return model


def split_error(prepared: Prepared, model: torch.nn.Module, metric: str, X: np.ndarray,
                y: np.ndarray) -> tuple[float | None, float | None]:
    """(metric value, error) of `model` on one split; (None, None) for an empty split."""
    if len(X) == 0:
        return None, None
    outputs = outputs_of(model, X)
    value = compute_metric(metric, prepared.task, outputs, y)
    error = error_from_metric(metric, value)
    if metric in ("rmse", "mae"):
        value, error = value * prepared.error_scale, error * prepared.error_scale
    return float(value), float(error)


def measure_latency_ms(model: torch.nn.Module, example: torch.Tensor,
                       repeats: int = 20) -> float:
    """Median time of one single-example prediction, for satisficing constraints."""
    model.eval()
    x = example
    times = []
    with torch.inference_mode():
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def train_config(prepared: Prepared, config: TrainConfig, *, metric: str, deadline: float,
                 journal: Journal | None = None, experiment_id: int | None = None,
                 progress: bool = False,
                 train_data: tuple[np.ndarray, np.ndarray] | None = None) -> Outcome:
    """Train `config` until its epochs, early stopping or `deadline` (time.monotonic)."""
    model = build_model(prepared, config)
    X_train, y_train = train_data or (prepared.X["train"], prepared.y["train"])
    stop = Deadline(deadline)
    start = time.monotonic()
    try:
        result = _fit(model, config, prepared, X_train, y_train, metric, stop, journal,
                      experiment_id, progress)
    except TrainingDiverged as exc:
        return _diverged(config, model, start, experiment_id, str(exc))
    seconds = time.monotonic() - start
    model = result.model
    errors, metrics = {}, {}
    for name in ("train", "train_dev", "dev"):
        X, y = (X_train, y_train) if name == "train" else (prepared.X[name], prepared.y[name])
        metrics[name], errors[name] = split_error(prepared, model, metric, X, y)
    return Outcome(
        config=config, model=model, errors=errors, metrics=metrics,
        history=list(result.history), seconds=seconds, best_epoch=result.best_epoch,
        n_parameters=sum(p.numel() for p in model.parameters()),
        latency_ms=measure_latency_ms(model, example_input(prepared)),
        experiment_id=experiment_id, stopped_by_deadline=stop.hit,
    )


def _fit(model: torch.nn.Module, config: TrainConfig, prepared: Prepared, X_train: np.ndarray,
         y_train: np.ndarray, metric: str, stop: Deadline, journal: Journal | None,
         experiment_id: int | None, progress: bool) -> Any:
    data: dict[str, Any] = {"train": (X_train, y_train), "optimizer": config.optimizer,
                            "dev": (prepared.X["dev"], prepared.y["dev"]), "callbacks": []}
    if config.images is not None:  # pictures: loaders, augmentation, frozen layers
        from fullcycle.recipe.images import fit_arguments

        data = fit_arguments(prepared, config, model, X_train, y_train, stop.deadline)
    return fit(
        model, data["train"], data["dev"],
        loss=loss_for_task(prepared.task), optimizer=data["optimizer"], lr=config.lr,
        schedule=config.schedule, epochs=config.epochs, batch_size=config.batch_size,
        l2=config.l2, early_stopping=config.patience, metric=metric,
        callbacks=[stop, *data["callbacks"]],
        seed=config.seed, progress=progress, task=prepared.task,
        journal=(journal, experiment_id) if journal is not None and experiment_id else None,
    )


def _diverged(config: TrainConfig, model: torch.nn.Module, start: float,
              experiment_id: int | None, message: str) -> Outcome:
    """An experiment whose training diverged: infinitely bad, never kept, reason recorded."""
    inf = float("inf")
    return Outcome(config=config, model=model, errors={"train": inf, "train_dev": None,
                                                       "dev": inf},
                   metrics={"train": None, "train_dev": None, "dev": None}, history=[],
                   seconds=time.monotonic() - start, best_epoch=None,
                   n_parameters=sum(p.numel() for p in model.parameters()), latency_ms=0.0,
                   experiment_id=experiment_id, extra={"diverged": message})
