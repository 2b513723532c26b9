"""`fc.train`: train the built-in network on prepared data and measure it on every split.

The middle rung of the API, between `fc.fit` (any module, any data) and `fc.run` (the whole
recipe): the loss, metric and output size come from the `Prepared`, the knobs from one
`TrainConfig` (its defaults are the seeds'), and the result carries errors on train,
train-dev and dev in the units the diagnosis subtracts (1 − accuracy, 1 − F1, RMSE in the
target's own units)::

    import fullcycle as fc
    p = fc.prepare("data.csv", target="y")
    outcome = fc.train(p, hidden=[64], epochs=40)
    outcome.errors["dev"], outcome.model

The autopilot's experiments, every search trial and `fullcycle train` all go through
`train`; the network starts at the prior (output bias at the class prior or target mean).
`build_model` is the one place the network is chosen: `TextMLP` (an embedding + LSTM per
text column beside the table's body) when the data has text columns, `TabularMLP`
otherwise; a multitask target gets one head per task, `MultiTaskLoss` and the mean of the
tasks' errors as its metric.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fullcycle.data.dataset import Prepared
from fullcycle.engine.callbacks import TrainingDiverged
from fullcycle.engine.device import cpu_threads, threads_for
from fullcycle.engine.events import Callback
from fullcycle.engine.fit import fit
from fullcycle.engine.journaling import JournalCallback
from fullcycle.engine.losses import MultiTaskLoss, loss_for_task
from fullcycle.errors import FullcycleError
from fullcycle.metrics import (
    MULTITASK_METRIC,
    MultiTaskMetric,
    compute_metric,
    default_metric,
    error_from_metric,
    head_metric,
    task_errors,
)
from fullcycle.models.embeddings import numeric_embedding_spec
from fullcycle.models.mlp import TabularMLP, embedding_size, init_output_bias, midpoint_width
from fullcycle.models.resnet import TabularResNet
from fullcycle.models.text import TextMLP
from fullcycle.recipe.config import TrainConfig, resolve
from fullcycle.recipe.images import example_input, measured_rows, outputs_of
from fullcycle.recipe.training_rows import decision_threshold, weight_target_rows

SPLITS = ("train", "train_dev", "dev")


@dataclass
class Outcome:
    """A trained network: the model, its errors per split, and what it cost.

    ``diverged`` holds the reason when training blew up even at lowered rates: the errors
    are then infinite, so the outcome is never chosen.
    """

    config: TrainConfig
    model: torch.nn.Module
    errors: dict[str, float | None]
    metrics: dict[str, float | None]
    metric: str
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    best_epoch: int | None = None
    n_parameters: int = 0
    latency_ms: float = 0.0
    experiment_id: int | None = None
    stopped_by_deadline: bool = False
    stopped_early: bool = False
    resumed_from: int | None = None
    decisions: list[dict] = field(default_factory=list)
    diverged: str | None = None

    @property
    def dev_error(self) -> float:
        return float(self.errors["dev"])

    @property
    def epochs_run(self) -> int:
        return len(self.history)


class Deadline(Callback):
    """Stops training when the time given to this experiment is spent."""

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
    """Output units: one logit (binary, regression) or one per class / label; a multitask
    net's heads side by side."""
    if prepared.task == "multitask":
        return sum(h.width for h in prepared.heads)
    if prepared.task == "multiclass":
        return len(prepared.classes)
    if prepared.task == "multilabel":
        return len(prepared.targets)
    return 1


def head_specs(prepared: Prepared) -> list[tuple[str, int]]:
    """Multitask: (task, width) per head, in output order; empty for a single task."""
    return [(h.task, h.width) for h in prepared.heads]


def head_metrics(prepared: Prepared) -> list[str]:
    """Multitask: each head's metric, from its training labels (F1 when imbalanced)."""
    y = prepared.y["train"]
    return [head_metric(h.task, y[~np.isnan(y[:, j]), j]) if h.task != "regression"
            else "rmse" for j, h in enumerate(prepared.heads)]


def loss_for(prepared: Prepared) -> Any:
    """The task's cost function: a name, or the summed masked loss of a multitask net."""
    if prepared.task == "multitask":
        return MultiTaskLoss(head_specs(prepared))
    return loss_for_task(prepared.task)


def task_metric(prepared: Prepared, metric: str | None = None) -> str:
    """The single evaluation metric: `metric`, else the task's default (F1 for imbalanced
    classes); a multitask net is judged by the mean of its tasks' errors, nothing else."""
    if prepared.task == "multitask":
        if metric not in (None, MULTITASK_METRIC):
            raise FullcycleError(f"metric {metric!r} applies to one target; a multi-task run "
                                 "is judged by the mean of its tasks' errors: leave the "
                                 "metric out")
        return MULTITASK_METRIC
    return metric or default_metric(prepared.task, prepared.y["train"])


def network_inputs(prepared: Prepared) -> int:
    """The width the table's first layer sees: numeric columns plus the categorical
    embeddings (text columns go through their own embedding + LSTM, not counted)."""
    pre = prepared.preprocessor
    categorical = pre.categorical
    return (pre.n_tabular - len(categorical)
            + sum(embedding_size(k) for _, k in categorical))


def first_hidden(prepared: Prepared) -> int:
    """The seeds' first hidden width: the midpoint between the network's input width and its
    outputs (seed 001, step 2) — the one rule every command starts from; 0 for a table of
    text columns only (no tabular body)."""
    if prepared.preprocessor.text_columns and not prepared.preprocessor.n_tabular:
        return 0
    return midpoint_width(network_inputs(prepared), n_outputs(prepared))


def text_vocabulary(prepared: Prepared) -> int | None:
    """The largest text column's vocabulary (it sizes the text path); None without text."""
    text = prepared.preprocessor.text
    return max(v for _, _, v in text) if text else None


def resolved(prepared: Prepared, config: TrainConfig | None = None) -> TrainConfig:
    """`config` (default: the seeds' defaults) with every data-chosen knob filled in."""
    return resolve(config or TrainConfig(), len(prepared.X["train"]), first_hidden(prepared),
                   text_vocabulary(prepared))


def build_model(prepared: Prepared, config: TrainConfig) -> torch.nn.Module:
    """The network `config` describes, starting at the prior; seeded by ``config.seed`` on a
    fork of torch's RNG, so building it never reseeds the caller's generator.

    `TextMLP` (an embedding + LSTM per text column beside the table's body) when the data
    has text columns; otherwise the ResNet (``architecture="resnet"``) or `TabularMLP`, with
    the numeric embedding `config` names; pictures get `ImageResNet` or the network they are
    transferred from (`fullcycle.recipe.images`)."""
    if config.images is not None:
        from fullcycle.recipe.images import build_image_model

        return build_image_model(prepared, config)
    pre = prepared.preprocessor
    config = resolved(prepared, config)  # a no-op on a resolved config
    hidden = config.hidden if config.hidden is not None else (first_hidden(prepared),)
    categorical = pre.categorical
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        if pre.text_columns:
            model: torch.nn.Module = TextMLP(
                pre.n_features, n_outputs(prepared), pre.text,
                embedding_dim=config.text_embedding, hidden_size=config.text_hidden,
                layers=config.text_layers, bidirectional=config.bidirectional,
                text_dropout=config.text_dropout, dropout=config.text_dropout,
                hidden=list(hidden) if pre.n_tabular else [],
                activation=config.activation, batch_norm=config.batch_norm and bool(hidden),
                categorical=categorical)
        else:
            common = dict(
                n_inputs=pre.n_features, n_outputs=n_outputs(prepared),
                hidden=list(hidden), activation=config.activation, init=config.init,
                dropout=_dropout(config, len(hidden)), categorical=categorical,
                # bin edges are training-split statistics, frozen in the model's JSON config
                numeric_embedding=numeric_embedding_spec(config.numeric_embedding,
                                                         prepared.X["train"], categorical),
            )
            model = (TabularResNet(**common, norm="batch" if config.batch_norm else "layer")
                     if config.architecture == "resnet" else
                     TabularMLP(**common, batch_norm=config.batch_norm))
    init_output_bias(model, prepared.task, prepared.y["train"], head_specs(prepared))
    return model


def _dropout(config: TrainConfig, n_hidden: int) -> list[float]:
    """One rate per hidden layer: missing trailing rates are 0, too many is the user's error
    (the network refuses it with the fix)."""
    rates = list(config.dropout)
    return rates if len(rates) > n_hidden else rates + [0.0] * (n_hidden - len(rates))


def split_error(prepared: Prepared, model: torch.nn.Module, metric: str, X: np.ndarray,
                y: np.ndarray) -> tuple[float | None, float | None]:
    """(metric value, error) of `model` on one split; (None, None) for an empty split."""
    if len(X) == 0:
        return None, None
    outputs = outputs_of(model, X)
    if prepared.task == "multitask":  # the mean of the tasks' errors (see metrics.task_errors)
        error = task_errors(head_specs(prepared), outputs, y, head_metrics(prepared))["overall"]
        return float(error), float(error)
    value = compute_metric(metric, prepared.task, outputs, y,
                           threshold=decision_threshold(prepared))
    error = error_from_metric(metric, value)
    if metric in ("rmse", "mae"):  # standardized target -> the target's own units
        value, error = value * prepared.error_scale, error * prepared.error_scale
    return float(value), float(error)


def split_errors(prepared: Prepared, model: torch.nn.Module, metric: str,
                 train_data: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """(errors, metric values) of `model` on train, train-dev and dev (never test)."""
    errors, metrics = {}, {}
    for name in SPLITS:
        X, y = ((train_data or (prepared.X["train"], prepared.y["train"])) if name == "train"
                else (prepared.X[name], prepared.y[name]))
        if name == "train":  # pictures: a sample of the training pictures (recipe/images)
            X, y = measured_rows(X, y, 0)
        metrics[name], errors[name] = split_error(prepared, model, metric, X, y)
    return errors, metrics


def measure_latency_ms(model: torch.nn.Module, example: torch.Tensor | int,
                       repeats: int = 20) -> float:
    """Median time of one single-example prediction, for satisficing constraints.

    `example` is one input (a picture, a row) or the number of features of a row."""
    model.eval()
    x = torch.zeros(1, example) if isinstance(example, int) else example
    times = []
    with torch.inference_mode():
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def train(prepared: Prepared, config: TrainConfig | None = None, *,
          metric: str | None = None, deadline: float | None = None,
          callbacks: Sequence[Callback] = (), journal: JournalCallback | None = None,
          checkpoint_dir: str | Path | None = None, resume: bool = False,
          device: str = "auto", precision: str | None = None, progress: bool | Callback = False,
          train_data: tuple[np.ndarray, np.ndarray] | None = None,
          start_from: torch.nn.Module | None = None, **changes: Any) -> Outcome:
    """Train the built-in network on `prepared` and measure it on train, train-dev and dev.

    config: the knobs (default `TrainConfig()`, the seeds' defaults); keyword `changes` turn
        single knobs on top of it (``fc.train(p, hidden=[64], epochs=40)``).
    metric: the single evaluation metric (default: the task's, F1 for imbalanced classes;
        a multitask net's is the mean of its tasks' errors, see `task_metric`).
    deadline: a `time.monotonic()` time at which training stops (the run's budget).
    journal: a `JournalCallback` to log each epoch and decision.
    checkpoint_dir / resume: save the state after every epoch; continue from it.
    train_data: train on these rows instead of the training split (learning curves).
    start_from: train this network (its weights) instead of a new one: a warm start, as
        `fullcycle retrain` does from a deployed bundle; it is trained in place.
    The test split is never touched. Divergence is a result, not an exception: the outcome
    then has infinite errors and the reason in ``diverged``.
    """
    config = config or TrainConfig()
    if changes:
        known = {f.name for f in fields(TrainConfig)}
        unknown = set(changes) - known
        if unknown:
            raise FullcycleError(f"unknown training setting(s) {', '.join(sorted(unknown))}; "
                                 f"known: {', '.join(sorted(known))}")
        config = config.with_changes(**changes)  # keeps a pretrained network (pictures)
    config = resolved(prepared, config)
    metric = task_metric(prepared, metric)
    multitask = prepared.task == "multitask"
    model = start_from if start_from is not None else build_model(prepared, config)
    X_train, y_train = train_data or (prepared.X["train"], prepared.y["train"])
    if config.target_weight > 1 and train_data is None:
        X_train, y_train = weight_target_rows(prepared, X_train, y_train, config.target_weight)
    # A streamed table (`fullcycle.data.stream`) trains on every row; X["train"] is its sample.
    fit_on = (prepared.train_batches(config.batch_size, config.seed)
              if train_data is None and hasattr(prepared, "train_batches") else (X_train, y_train))
    stop = Deadline(deadline) if deadline is not None else None
    start = time.monotonic()
    threads = threads_for(model, config.batch_size) if device in ("auto", "cpu") else None
    data: dict[str, Any] = {"train": (X_train, y_train), "optimizer": config.optimizer,
                            "dev": (prepared.X["dev"], prepared.y["dev"]), "callbacks": []}
    if config.images is not None:  # pictures: loaders, augmentation, frozen layers
        from fullcycle.recipe.images import fit_arguments

        data = fit_arguments(prepared, config, model, X_train, y_train, deadline)
    try:
        with cpu_threads(threads):
            result = fit(
                model, data["train"] if config.images is not None else fit_on, data["dev"],
                loss=loss_for(prepared), optimizer=data["optimizer"],
                optimizer_options=_optimizer_options(config), lr=config.lr,
                schedule=config.schedule, epochs=config.epochs, batch_size=config.batch_size,
                l2=config.l2, l1=config.l1, clip_norm=config.clip_norm or None,  # 0: off
                clip_value=config.clip_value,
                early_stopping=data.get("early_stopping", config.patience or None),
                metric=MultiTaskMetric(head_specs(prepared), head_metrics(prepared))
                if multitask else metric,
                callbacks=[*([stop] if stop else []), *data["callbacks"], *callbacks],
                seed=config.seed, progress=progress, task=None if multitask else prepared.task,
                device=device, precision=precision, checkpoint_dir=checkpoint_dir,
                resume=resume, journal=journal,
            )
    except TrainingDiverged as exc:
        return _diverged(config, model, metric, start, str(exc))
    model = result.model.cpu()
    errors, metrics = split_errors(prepared, model, metric, (X_train, y_train))
    return Outcome(
        config=config, model=model, errors=errors, metrics=metrics, metric=metric,
        history=list(result.history), seconds=time.monotonic() - start,
        best_epoch=result.best_epoch, n_parameters=_parameters(model),
        latency_ms=measure_latency_ms(model, example_input(prepared)),
        experiment_id=getattr(journal, "experiment_id", None),
        stopped_by_deadline=bool(stop and stop.hit), stopped_early=result.stopped_early,
        resumed_from=result.resumed_from, decisions=list(result.decisions),
    )


def _optimizer_options(config: TrainConfig) -> dict[str, Any]:
    """β1 where the optimizer has one: Adam's (β2 stays at the seeds' 0.999), or the β of the
    seeds' momentum / RMSprop; plain SGD has none."""
    if config.optimizer in ("adam", "adamw"):
        return {"betas": (config.beta1, 0.999)}
    if config.optimizer in ("momentum", "rmsprop"):
        return {"beta": config.beta1}
    return {}


def _parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _diverged(config: TrainConfig, model: torch.nn.Module, metric: str, start: float,
              message: str) -> Outcome:
    """An experiment whose training diverged: infinitely bad, never kept, reason recorded."""
    inf = float("inf")
    return Outcome(config=config, model=model, errors={"train": inf, "train_dev": None,
                                                       "dev": inf},
                   metrics={"train": None, "train_dev": None, "dev": None}, metric=metric,
                   seconds=time.monotonic() - start, n_parameters=_parameters(model),
                   diverged=message)
